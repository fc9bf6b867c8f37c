#include "agent/client/agent_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "common/monotonic_clock.h"

namespace soulbox {
namespace ap = agentproto;

namespace {

constexpr size_t kWriteChunk = 1u << 20;

int64_t now_ms() {
  return monotonic_ns() / 1000000;
}

Error unexpected(const OwnedFrame& f, const char* wanted) {
  if (f.type() == ap::Body::ErrorReply) return error_from_reply(f.frame().body_as_ErrorReply());
  return Error{ErrorCode::protocol_error, std::string("expected ") + wanted + ", got " + ap::EnumNameBody(f.type())};
}

template <class Build>
flatbuffers::FlatBufferBuilder build_frame(uint64_t id, Build build) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto [type, body] = build(fbb);
  ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, id, type, body));
  return fbb;
}

}  // namespace

FileInfo to_file_info(const ap::FileEntry* e) {
  FileInfo info;
  if (!e) return info;
  if (e->name()) info.name = e->name()->str();
  if (e->path()) info.path = e->path()->str();
  if (e->symlink_target()) info.symlink_target = e->symlink_target()->str();
  info.type = e->type();
  info.size = e->size();
  info.mode = e->mode();
  info.uid = e->uid();
  info.gid = e->gid();
  info.mtime_ns = e->mtime_ns();
  return info;
}

std::string bytes_of(const flatbuffers::Vector<uint8_t>* v) {
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
}

flatbuffers::Offset<ap::ProcStart> build_proc_start(flatbuffers::FlatBufferBuilder& b, const ProcessSpec& spec) {
  auto argv = b.CreateVectorOfStrings(spec.argv);
  auto env = b.CreateVectorOfStrings(spec.env);
  auto cwd = spec.cwd.empty() ? 0 : b.CreateString(spec.cwd);
  auto user = spec.user.empty() ? 0 : b.CreateString(spec.user);
  auto tag = spec.tag.empty() ? 0 : b.CreateString(spec.tag);
  auto pty = spec.pty ? ap::CreatePtySize(b, spec.pty->first, spec.pty->second) : 0;
  return ap::CreateProcStart(b, argv, env, cwd, user, spec.stdin_open, pty, spec.timeout_ms, spec.output_limit, tag);
}

void apply_end(const ap::ProcEnd& end, ProcessResult& result) {
  result.pid = end.pid();
  result.exit_code = end.exit_code();
  result.signal = end.signal();
  result.wall_us = end.wall_us();
  result.cpu_us = end.cpu_us();
  result.peak_rss_kb = end.peak_rss_kb();
  result.timed_out = end.timed_out();
  result.truncated = end.truncated();
}

std::vector<ProcessInfo> process_infos(const ap::ProcListReply& reply) {
  std::vector<ProcessInfo> out;
  if (!reply.procs()) return out;
  for (const auto* p : *reply.procs()) {
    ProcessInfo info{p->pid(), {}, p->tag() ? p->tag()->str() : "", p->running()};
    if (p->argv())
      for (const auto* a : *p->argv()) info.argv.push_back(a->str());
    out.push_back(std::move(info));
  }
  return out;
}

Error error_from_reply(const ap::ErrorReply* reply) {
  if (!reply) return Error{ErrorCode::protocol_error, "empty error reply"};
  return Error{ErrorCode(reply->code()), reply->message() ? reply->message()->str() : "agent error"};
}

Status AgentClient::send(const flatbuffers::FlatBufferBuilder& fbb) {
  const std::string frame = ap::encode_frame(fbb);
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("send to agent", errno, ErrorCode::unavailable);
    done += size_t(n);
  }
  return {};
}

Result<OwnedFrame> AgentClient::read_frame(int timeout_ms) {
  const int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  for (;;) {
    const ap::Frame* frame = nullptr;
    const auto status = reader_.next(frame);
    if (status == ap::FrameReader::Status::frame) return OwnedFrame(reader_.last_frame_bytes());
    if (status == ap::FrameReader::Status::bad_frame)
      return Error{ErrorCode::protocol_error, "the agent sent a malformed frame"};
    if (spin_for_frame()) continue;
    const int wait = deadline < 0 ? -1 : int(std::max<int64_t>(0, deadline - now_ms()));
    struct pollfd pfd {
      fd_, POLLIN, 0
    };
    const int ready = ::poll(&pfd, 1, wait);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return sys_error("poll agent channel");
    if (ready == 0)
      return Error{ErrorCode::timeout, "no answer from the agent within " + std::to_string(timeout_ms) + " ms"};
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{ErrorCode::unavailable, "the agent closed its channel (sandbox gone)"};
    reader_.append(buf, size_t(n));
  }
}

// Answers usually arrive within tens of microseconds; sleeping in poll() and
// being woken from another CPU costs 45-90 µs on VMs (docs/stack-notes.md S11), so
// poll without blocking for a short while first.
bool AgentClient::spin_for_frame() {
  if (spin_us_ <= 0) return false;
  struct timespec start {};
  struct timespec now {};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      reader_.append(buf, size_t(n));
      return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) return false;  // let the blocking path report it
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000 > spin_us_) return false;
  }
}

Result<OwnedFrame> AgentClient::wait_for(uint64_t request_id, int timeout_ms) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->id() != request_id) continue;
    OwnedFrame f = std::move(*it);
    pending_.erase(it);
    return f;
  }
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    auto f = read_frame(int(std::max<int64_t>(0, deadline - now_ms())));
    if (!f) return f;
    if (f->id() == request_id) return f;
    pending_.push_back(std::move(*f));
  }
}

Status AgentClient::expect_ok(uint64_t id, int timeout_ms) {
  auto f = wait_for(id, timeout_ms);
  if (!f) return f.error();
  if (f->type() != ap::Body::Ok) return unexpected(*f, "Ok");
  return {};
}

Result<std::string> AgentClient::handshake(int timeout_ms) {
  auto f = wait_for(0, timeout_ms);
  if (!f) return f.error();
  const auto* hello = f->frame().body_as_Hello();
  if (!hello) return unexpected(*f, "Hello");
  const std::string version = hello->agent_version() ? hello->agent_version()->str() : "?";
  if (hello->protocol_version() < ap::kMinAgentProtocolVersion)
    return Error{ErrorCode::version_mismatch,
                 "agent " + version + " speaks protocol " + std::to_string(hello->protocol_version()) +
                     "; this host needs >= " + std::to_string(ap::kMinAgentProtocolVersion)};
  return version;
}

Result<int> AgentClient::start(const ProcessSpec& spec, uint64_t* request_id) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::ProcStart, build_proc_start(b, spec).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  auto f = wait_for(id, 30000);
  if (!f) return f.error();
  const auto* started = f->frame().body_as_ProcStarted();
  if (!started) return unexpected(*f, "ProcStarted");
  if (request_id) *request_id = id;
  return started->pid();
}

Result<ProcessResult> AgentClient::wait(uint64_t request_id, int timeout_ms, const OutputCallback& on_output) {
  ProcessResult result;
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    auto f = wait_for(request_id, int(std::max<int64_t>(0, deadline - now_ms())));
    if (!f) return f.error();
    if (const auto* out = f->frame().body_as_ProcOutput()) {
      std::string data = bytes_of(out->data());
      if (on_output) on_output(out->stream(), data);
      (out->stream() == ap::Stream::Stderr ? result.err : result.out) += data;
      continue;
    }
    const auto* end = f->frame().body_as_ProcEnd();
    if (!end) return unexpected(*f, "ProcOutput or ProcEnd");
    apply_end(*end, result);
    return result;
  }
}

Result<ProcessResult> AgentClient::run(const ProcessSpec& spec, int timeout_ms, const OutputCallback& on_output) {
  uint64_t id = 0;
  auto pid = start(spec, &id);
  if (!pid) return pid.error();
  return wait(id, timeout_ms, on_output);
}

Status AgentClient::send_input(int pid, const std::string& data, bool close) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return std::make_pair(ap::Body::ProcInput, ap::CreateProcInput(b, pid, bytes, close).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Status AgentClient::signal(int pid, int signo) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::ProcSignal, ap::CreateProcSignal(b, pid, signo).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Status AgentClient::resize(int pid, uint16_t rows, uint16_t cols) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::ProcResize, ap::CreateProcResize(b, pid, ap::CreatePtySize(b, rows, cols)).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Result<std::vector<ProcessInfo>> AgentClient::list() {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::ProcList, ap::CreateProcList(b).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  auto f = wait_for(id, 30000);
  if (!f) return f.error();
  const auto* reply = f->frame().body_as_ProcListReply();
  if (!reply) return unexpected(*f, "ProcListReply");
  return process_infos(*reply);
}

Result<PartialOutput> AgentClient::output_so_far(int pid) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::ProcOutputQuery, ap::CreateProcOutputQuery(b, pid).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  auto f = wait_for(id, 30000);
  if (!f) return f.error();
  const auto* reply = f->frame().body_as_ProcOutputReply();
  if (!reply) return unexpected(*f, "ProcOutputReply");
  return PartialOutput{bytes_of(reply->stdout()), bytes_of(reply->stderr()), reply->finished(), reply->exit_code(),
                       reply->truncated()};
}

Status AgentClient::kill_all() {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::KillAll, ap::CreateKillAll(b).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Status AgentClient::write_file(const std::string& path, const std::string& data, uint32_t mode,
                               const std::string& user) {
  const uint64_t id = next_id();
  size_t offset = 0;
  do {
    const size_t n = std::min(kWriteChunk, data.size() - offset);
    const bool last = offset + n == data.size();
    auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
      auto p = offset == 0 ? b.CreateString(path) : 0;
      auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data() + offset), n);
      auto u = user.empty() ? 0 : b.CreateString(user);
      return std::make_pair(ap::Body::FileWrite, ap::CreateFileWrite(b, p, bytes, last, mode, true, u).Union());
    });
    if (auto st = send(fbb); !st) return st;
    offset += n;
  } while (offset < data.size());
  return expect_ok(id);
}

Result<std::string> AgentClient::read_file(const std::string& path, const std::string& user) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::FileRead, ap::CreateFileRead(b, p, 0, 0, u).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  std::string data;
  for (;;) {
    auto f = wait_for(id, 30000);
    if (!f) return f.error();
    const auto* chunk = f->frame().body_as_FileChunk();
    if (!chunk) return unexpected(*f, "FileChunk");
    data += bytes_of(chunk->data());
    if (chunk->eof()) return data;
  }
}

Result<std::vector<FileInfo>> AgentClient::list_dir(const std::string& path, uint32_t depth, const std::string& user,
                                                    bool* truncated) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::FileList, ap::CreateFileList(b, p, depth, u).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  auto f = wait_for(id, 30000);
  if (!f) return f.error();
  const auto* reply = f->frame().body_as_FileListReply();
  if (!reply) return unexpected(*f, "FileListReply");
  if (truncated) *truncated = reply->truncated();
  std::vector<FileInfo> out;
  if (reply->entries())
    for (const auto* e : *reply->entries()) out.push_back(to_file_info(e));
  return out;
}

Result<FileInfo> AgentClient::stat(const std::string& path, const std::string& user) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::FileStat, ap::CreateFileStat(b, p, u).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  auto f = wait_for(id, 30000);
  if (!f) return f.error();
  const auto* reply = f->frame().body_as_FileStatReply();
  if (!reply) return unexpected(*f, "FileStatReply");
  return to_file_info(reply->entry());
}

Status AgentClient::make_dir(const std::string& path, const std::string& user) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::MakeDir, ap::CreateMakeDir(b, p, 0755, u).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Status AgentClient::remove(const std::string& path, bool recursive, const std::string& user) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::Remove, ap::CreateRemove(b, p, recursive, u).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Status AgentClient::rename(const std::string& from, const std::string& to, const std::string& user) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto f = b.CreateString(from);
    auto t = b.CreateString(to);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::Rename, ap::CreateRename(b, f, t, u).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

Result<uint32_t> AgentClient::watch(const std::string& path, bool recursive, uint64_t* request_id,
                                    const std::string& user) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(ap::Body::WatchStart, ap::CreateWatchStart(b, p, recursive, u).Union());
  });
  if (auto st = send(fbb); !st) return st.error();
  auto f = wait_for(id, 30000);
  if (!f) return f.error();
  const auto* started = f->frame().body_as_WatchStarted();
  if (!started) return unexpected(*f, "WatchStarted");
  if (request_id) *request_id = id;
  return started->watch_id();
}

Status AgentClient::unwatch(uint32_t watch_id) {
  const uint64_t id = next_id();
  auto fbb = build_frame(id, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(ap::Body::WatchStop, ap::CreateWatchStop(b, watch_id).Union());
  });
  if (auto st = send(fbb); !st) return st;
  return expect_ok(id);
}

}  // namespace soulbox
