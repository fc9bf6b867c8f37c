// Code contexts: kernel processes the agent supervises (kernels/), each a
// persistent Python namespace, Node.js scope, Bash shell or Ruby binding.
// Cells queue per context and run one at a time; their output, results and
// errors stream to the host as CodeEvents under the CodeRun's frame id, and
// a CodeEnd closes each. Interrupts and timeouts send SIGINT; a kernel that
// does not stop within a grace period, or dies, is replaced by a fresh one.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/artifact_scan.h"
#include "agent/channel.h"
#include "agent/event_loop.h"
#include "agent/kernel_launcher.h"
#include "agent/kernel_wire.h"

namespace soulbox::agent {

class ContextService {
 public:
  static constexpr size_t kMaxContexts = 32;
  static constexpr size_t kMaxQueuedCells = 32;
  // How long a kernel has to stop after SIGINT before it is replaced.
  static constexpr int64_t kInterruptGraceMs = 2000;
  // Bytes a kernel may write without completing an event (then it is killed).
  static constexpr size_t kMaxEventLine = 16u << 20;

  ContextService(EventLoop& loop, Channel& channel, uint64_t output_limit);
  ~ContextService();

  void create(uint64_t id, const agentproto::CtxCreate& req);
  void list(uint64_t id);
  void restart(uint64_t id, const agentproto::CtxRestart& req);
  void remove(uint64_t id, const agentproto::CtxRemove& req);
  void interrupt(uint64_t id, const agentproto::CtxInterrupt& req);
  void run(uint64_t id, const agentproto::CodeRun& req);

  // A child exited: true when it was a kernel (then handled here).
  bool on_child_exit(pid_t pid, int status);
  int next_deadline_ms() const;
  void enforce_deadlines();
  void pause_output(bool paused);

 private:
  struct Cell {
    uint64_t frame_id = 0;
    std::string request;  // the kernel request, NUL-separated fields
    uint32_t timeout_ms = 0;
    int64_t start_ns = 0, deadline_ns = 0, kill_at_ns = 0;
    bool interrupted = false, timed_out = false, error = false;
    bool output_cut = false;  // past the output limit (the client was told)
    uint32_t execution_count = 0;
    uint64_t output_bytes = 0;
  };
  struct Context {
    std::string id, language, cwd;
    KernelSpec spec;
    bool is_default = false;
    KernelProcess kernel;
    bool ready = false;
    uint32_t execution_count = 0;
    KernelEventReader events{kMaxEventLine};
    std::string startup_output;    // the end of what it wrote before "ready"
    std::string killed_because;    // why the agent killed the kernel, for its KernelDied
    std::string pending_request;   // bytes not yet taken by the kernel's request pipe
    bool request_watched = false;  // waiting for room in that pipe (EPOLLOUT)
    std::optional<Cell> running;
    std::deque<Cell> queued;
    DirSnapshot files;  // the cwd as the running cell found it, or the last look (artifacts)
    ChangeWatch file_changes;
  };

  Result<Context*> make_context(const KernelSpec& spec, bool is_default);
  Status start_kernel(Context& c);
  void stop_kernel(Context& c);
  void kill_kernel(Context& c, const std::string& why);
  Context* find(const std::string& id);
  Context* find_or_refuse(uint64_t frame_id, const std::string& context_id);
  Context* find_by_pid(pid_t pid);
  Context* default_for(const std::string& language);
  void send_info(uint64_t id, const Context& c);

  // Starts the next queued cell if the kernel is free: its execution count,
  // or 0. pump() also sends the count as an event.
  uint32_t start_next(Context& c);
  void pump(Context& c);
  void flush_request(Context& c);
  void on_events(const std::string& context_id);
  void on_output(const std::string& context_id, int stream);
  void drain_output(Context& c);
  void forward_output(Context& c, int stream, const char* data, size_t n);
  void handle_event(Context& c, std::string_view kind, std::string_view payload);
  void send_event(const Cell& cell, agentproto::CodeEventKind kind, std::string_view data, uint32_t count = 0);
  void finish_cell(Context& c, bool restarted);
  void rescan_files(Context& c);
  void fail_cells(Context& c, const std::string& name, const std::string& why);

  EventLoop& loop_;
  Channel& channel_;
  uint64_t output_limit_;
  bool output_paused_ = false;
  std::map<std::string, std::unique_ptr<Context>> contexts_;
};

}  // namespace soulbox::agent
