// The processes the agent runs for the host: start (pipes or a pty), stream
// output, stdin, signals, timeouts, partial output, list, reap and report.
#pragma once
#include <sys/resource.h>
#include <sys/types.h>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/channel.h"
#include "agent/event_loop.h"
#include "agent/users.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::agent {

class ProcessTable {
 public:
  // Output kept per stream for ProcOutputQuery (the stream itself may go on
  // up to the output limit).
  static constexpr size_t kCaptureBytes = 1u << 20;
  static constexpr size_t kFinishedKept = 256;

  ProcessTable(EventLoop& loop, Channel& channel, uint64_t default_output_limit);
  ~ProcessTable();

  void start(uint64_t id, const agentproto::ProcStart& req);
  void input(uint64_t id, const agentproto::ProcInput& req);
  void signal(uint64_t id, const agentproto::ProcSignal& req);
  void resize(uint64_t id, const agentproto::ProcResize& req);
  void list(uint64_t id);
  void query_output(uint64_t id, const agentproto::ProcOutputQuery& req);
  void kill_all(uint64_t id);

  // Children the table did not start (code-context kernels) go to `handler`.
  void set_other_child_handler(std::function<bool(pid_t, int)> handler) { other_child_ = std::move(handler); }
  void reap_children();
  // Milliseconds until the next process deadline, or -1.
  int next_deadline_ms() const;
  void enforce_deadlines();
  // Backpressure from the channel: stop or resume reading process output.
  void pause_output(bool paused);

 private:
  struct Process;
  struct ChildStdio;
  Result<ChildStdio> open_stdio(Process& p, const agentproto::ProcStart& req, const UserIdentity& user);
  void register_process(std::unique_ptr<Process> p, uint64_t id, pid_t pid, const agentproto::ProcStart& req);
  Process* find(pid_t pid);
  void read_output(Process& p, int stream, bool drain);
  void close_output(Process& p, int stream);
  void flush_input(Process& p);
  void finish(Process& p, int status, const struct rusage& usage);
  void watch_output(Process& p, int stream);
  void keep_asked_size(Process& p);

  EventLoop& loop_;
  Channel& channel_;
  uint64_t default_output_limit_;
  unique_fd dev_null_;
  bool output_paused_ = false;
  std::map<pid_t, std::unique_ptr<Process>> procs_;
  std::deque<pid_t> finished_;
  std::function<bool(pid_t, int)> other_child_;
};

}  // namespace soulbox::agent
