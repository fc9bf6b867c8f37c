// Host side of the agent protocol: a blocking client over the channel fd of
// one sandbox. Used by soulbox-isolate, tests and benchmarks (the sandbox
// actor of soulboxd drives the same frames without blocking).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "messages/agent_protocol.h"

namespace soulbox {

// A verified frame that owns its bytes.
class OwnedFrame {
 public:
  explicit OwnedFrame(std::string bytes) : bytes_(std::move(bytes)) {}
  const agentproto::Frame& frame() const {
    return *agentproto::GetFrame(reinterpret_cast<const uint8_t*>(bytes_.data()));
  }
  uint64_t id() const { return frame().id(); }
  agentproto::Body type() const { return frame().body_type(); }

 private:
  std::string bytes_;
};

struct ProcessSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // KEY=VALUE, on top of the agent's defaults
  std::string cwd;
  std::string user;  // "" = user, or "root"
  bool stdin_open = false;
  std::optional<std::pair<uint16_t, uint16_t>> pty;  // rows, cols
  uint32_t timeout_ms = 0;
  uint64_t output_limit = 0;
  std::string tag;
};

struct ProcessResult {
  int pid = -1;
  std::string out;  // stdout, or everything for a pty
  std::string err;
  int exit_code = -1;
  int signal = 0;
  uint64_t wall_us = 0;
  uint64_t cpu_us = 0;
  uint64_t peak_rss_kb = 0;
  bool timed_out = false;
  bool truncated = false;
};

struct PartialOutput {
  std::string out, err;
  bool finished = false;
  int exit_code = -1;
  bool truncated = false;
};

struct FileInfo {
  std::string name, path, symlink_target;
  agentproto::FileType type = agentproto::FileType::Other;
  uint64_t size = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0;
};

struct ProcessInfo {
  int pid = -1;
  std::vector<std::string> argv;
  std::string tag;
  bool running = false;
};

// Called with each output chunk of a process: stream is Stdout, Stderr or Pty.
using OutputCallback = std::function<void(agentproto::Stream stream, const std::string& data)>;

class AgentClient {
 public:
  explicit AgentClient(int channel_fd) : fd_(channel_fd) {}

  // How long to poll without sleeping before blocking for a frame (0: never).
  void set_spin_us(int us) { spin_us_ = us; }

  // Reads the agent's Hello; refuses agents older than the minimum version.
  Result<std::string> handshake(int timeout_ms = 5000);

  // --- processes
  Result<int> start(const ProcessSpec& spec, uint64_t* request_id);
  Result<ProcessResult> wait(uint64_t request_id, int timeout_ms, const OutputCallback& on_output = {});
  Result<ProcessResult> run(const ProcessSpec& spec, int timeout_ms = 60000, const OutputCallback& on_output = {});
  Status send_input(int pid, const std::string& data, bool close = false);
  Status signal(int pid, int signo);
  Status resize(int pid, uint16_t rows, uint16_t cols);
  Result<std::vector<ProcessInfo>> list();
  Result<PartialOutput> output_so_far(int pid);
  Status kill_all();

  // --- files
  Status write_file(const std::string& path, const std::string& data, uint32_t mode = 0644,
                    const std::string& user = "");
  Result<std::string> read_file(const std::string& path, const std::string& user = "");
  // *truncated (optional) says the agent cut the listing (10 000 entries or ~2 MiB).
  Result<std::vector<FileInfo>> list_dir(const std::string& path, uint32_t depth = 1, const std::string& user = "",
                                         bool* truncated = nullptr);
  Result<FileInfo> stat(const std::string& path, const std::string& user = "");
  Status make_dir(const std::string& path, const std::string& user = "");
  Status remove(const std::string& path, bool recursive = false, const std::string& user = "");
  Status rename(const std::string& from, const std::string& to, const std::string& user = "");
  Result<uint32_t> watch(const std::string& path, bool recursive, uint64_t* request_id, const std::string& user = "");
  Status unwatch(uint32_t watch_id);

  // --- raw access
  uint64_t next_id() { return ++last_id_; }
  Status send(const flatbuffers::FlatBufferBuilder& fbb);
  // The next frame for `request_id`; frames for other ids stay queued.
  Result<OwnedFrame> wait_for(uint64_t request_id, int timeout_ms);

 private:
  Result<OwnedFrame> read_frame(int timeout_ms);
  bool spin_for_frame();
  Status expect_ok(uint64_t id, int timeout_ms = 30000);

  int fd_;
  int spin_us_ = 50;
  uint64_t last_id_ = 0;
  agentproto::FrameReader reader_;
  std::deque<OwnedFrame> pending_;
};

// An ErrorReply frame as an Error.
Error error_from_reply(const agentproto::ErrorReply* reply);

// Shared with the bus client, which sends the same tables.
flatbuffers::Offset<agentproto::ProcStart> build_proc_start(flatbuffers::FlatBufferBuilder& fbb,
                                                            const ProcessSpec& spec);
void apply_end(const agentproto::ProcEnd& end, ProcessResult& result);
std::vector<ProcessInfo> process_infos(const agentproto::ProcListReply& reply);
FileInfo to_file_info(const agentproto::FileEntry* entry);

}  // namespace soulbox
