#include "agent/context_service.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/replies.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {

constexpr size_t kMaxEventLine = 16u << 20;
constexpr size_t kMaxArtifacts = 100;
// A result over this cannot travel in one agent frame with its envelope.
constexpr size_t kMaxResultBytes = ap::kMaxFrameBytes - (64u << 10);

int64_t now_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string random_id() {
  unsigned char bytes[8] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != ssize_t(sizeof bytes)) {
    const uint64_t t = uint64_t(now_ns());
    std::memcpy(bytes, &t, sizeof bytes);
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

bool has_nul(const flatbuffers::String* s) {
  return s && std::memchr(s->data(), '\0', s->size()) != nullptr;
}

std::string str(const flatbuffers::String* s) {
  return s ? s->str() : "";
}

// JSON string literal (for the errors the agent itself reports).
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string error_json(const std::string& name, const std::string& value) {
  return "{\"name\":" + json_string(name) + ",\"value\":" + json_string(value) +
         ",\"traceback\":" + json_string(name + ": " + value) + "}";
}

constexpr const char* kBadEnv = "env entries are KEY=VALUE without NUL bytes";

// KEY=VALUE with a non-empty key and no NUL byte, each one.
bool valid_env(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* env) {
  if (!env) return true;
  return std::all_of(env->begin(), env->end(), [](const flatbuffers::String* kv) {
    return !has_nul(kv) && kv->size() > 0 && kv->str().find('=') != std::string::npos && kv->str()[0] != '=';
  });
}

// The kernel of a language as a request names it.
Result<const KernelLanguage*> kernel_for(const flatbuffers::String* name) {
  const KernelLanguage* kernel = kernel_language(canonical_language(str(name)));
  if (!kernel)
    return Error{ErrorCode::invalid_argument,
                 "language '" + str(name) + "' has no kernel here (served: " + served_languages() + ")"};
  return kernel;
}

bool valid_module_name(const std::string& name) {
  return !name.empty() && name.size() < 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

// The kernel request for a cell (kernels/README.md): op, code, the number of
// env entries, then each; every field NUL-terminated.
std::string cell_request(const ap::CodeRun& req) {
  std::string r = "x";
  r += '\0';
  r += req.code()->str();
  r += '\0';
  r += std::to_string(req.env() ? req.env()->size() : 0);
  r += '\0';
  if (req.env())
    for (const auto* kv : *req.env()) {
      r += kv->str();
      r += '\0';
    }
  return r;
}

std::string exit_text(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

ContextService::ContextService(EventLoop& loop, Channel& channel, uint64_t output_limit)
    : loop_(loop), channel_(channel), output_limit_(output_limit) {}

ContextService::~ContextService() {
  for (auto& [id, c] : contexts_) stop_kernel(*c);
}

ContextService::Context* ContextService::find(const std::string& id) {
  auto it = contexts_.find(id);
  return it == contexts_.end() ? nullptr : it->second.get();
}

// The context, or nullptr after answering `frame_id` with E2B's words.
ContextService::Context* ContextService::find_or_refuse(uint64_t frame_id, const std::string& context_id) {
  Context* c = find(context_id);
  if (!c) reply_error(channel_, frame_id, ErrorCode::not_found, "Context " + context_id + " not found");
  return c;
}

ContextService::Context* ContextService::find_by_pid(pid_t pid) {
  for (auto& [id, c] : contexts_)
    if (c->kernel.pid == pid) return c.get();
  return nullptr;
}

ContextService::Context* ContextService::default_for(const std::string& language) {
  for (auto& [id, c] : contexts_)
    if (c->is_default && c->language == language) return c.get();
  return nullptr;
}

// --- kernels ------------------------------------------------------------------

Status ContextService::start_kernel(Context& c) {
  auto kernel = launch_kernel(c.spec);
  if (!kernel) return kernel.error();
  c.kernel = std::move(*kernel);
  c.ready = false;
  c.events_buffer.clear();
  c.pending_request.clear();
  c.request_watched = false;
  const std::string id = c.id;
  const uint32_t in = output_paused_ ? 0u : uint32_t(EPOLLIN);
  loop_.add(c.kernel.events.get(), in, [this, id](uint32_t) { on_events(id); });
  loop_.add(c.kernel.out.get(), in, [this, id](uint32_t) { on_output(id, 0); });
  loop_.add(c.kernel.err.get(), in, [this, id](uint32_t) { on_output(id, 1); });
  return {};
}

// Kills the kernel's whole process group (what the cells started too). Its
// exit is reaped later and no longer matches a context.
void ContextService::stop_kernel(Context& c) {
  if (c.kernel.pid > 0) {
    ::kill(-c.kernel.pid, SIGKILL);
    ::kill(c.kernel.pid, SIGKILL);
  }
  for (unique_fd* fd : {&c.kernel.events, &c.kernel.requests, &c.kernel.out, &c.kernel.err}) {
    if (*fd) loop_.remove(fd->get());
    fd->reset();
  }
  c.kernel.pid = -1;
  c.ready = false;
}

Result<ContextService::Context*> ContextService::make_context(const KernelSpec& spec, bool is_default) {
  if (contexts_.size() >= kMaxContexts)
    return Error{ErrorCode::resource_exhausted,
                 "this sandbox has " + std::to_string(kMaxContexts) + " code contexts already; remove one first"};
  auto c = std::make_unique<Context>();
  c->id = random_id();
  c->language = spec.language->name;
  c->cwd = spec.cwd;
  c->spec = spec;
  if (auto started = start_kernel(*c); !started) return started.error();
  rescan_files(*c);
  if (is_default) {
    for (auto& [id, other] : contexts_)
      if (other->language == c->language) other->is_default = false;
    c->is_default = true;
  }
  Context* raw = c.get();
  contexts_.emplace(c->id, std::move(c));
  return raw;
}

bool ContextService::on_child_exit(pid_t pid, int status) {
  Context* c = find_by_pid(pid);
  if (!c) return false;
  on_events(c->id);  // what it said before it went (maybe the cell's end)
  drain_output(*c);
  const std::string why = "the " + c->language + " kernel " + exit_text(status);
  const bool was_ready = c->ready;
  stop_kernel(*c);
  if (c->running) {
    Cell& cell = *c->running;
    const std::string fresh = "; a fresh kernel replaced it (the context's state is gone)";
    std::string error = error_json("KernelDied", why + fresh);
    if (cell.timed_out)
      error = error_json("TimeoutError", "the cell ran longer than its timeout of " + std::to_string(cell.timeout_ms) +
                                             " ms and did not stop" + fresh);
    else if (cell.interrupted)
      error = error_json("KeyboardInterrupt", "the cell did not stop within " + std::to_string(kInterruptGraceMs) +
                                                  " ms of the interrupt" + fresh);
    send_event(cell, ap::CodeEventKind::Error, error);
    cell.error = true;
    finish_cell(*c, true);
  }
  // One that died before it was ready would die again: no restart loop; the
  // next cell tries once more.
  if (!was_ready) {
    fail_cells(*c, "KernelDied", why + " before it was ready");
    return true;
  }
  if (auto restarted = start_kernel(*c); !restarted)
    fail_cells(*c, "KernelDied", why + ": " + restarted.error().message);
  return true;
}

// --- requests -----------------------------------------------------------------

void ContextService::create(uint64_t id, const ap::CtxCreate& req) {
  auto kernel = kernel_for(req.language());
  if (!kernel) return reply_error(channel_, id, kernel.error().code, kernel.error().message);
  if (!valid_env(req.env())) return reply_error(channel_, id, ErrorCode::invalid_argument, kBadEnv);
  auto user = lookup_user(str(req.user()));
  if (!user) return reply_error(channel_, id, ErrorCode::invalid_argument, "unknown user (use 'user' or 'root')");
  if (has_nul(req.cwd())) return reply_error(channel_, id, ErrorCode::invalid_argument, "cwd contains a NUL byte");
  KernelSpec spec;
  spec.language = *kernel;
  spec.user = *user;
  spec.cwd = req.cwd() && req.cwd()->size() ? req.cwd()->str() : user->home;
  if (req.env())
    for (const auto* kv : *req.env()) spec.env.push_back(kv->str());
  if (req.preload())
    for (const auto* module : *req.preload()) {
      if (!valid_module_name(module->str()))
        return reply_error(channel_, id, ErrorCode::invalid_argument,
                           "preload '" + module->str() + "' is not a module name");
      spec.preload.push_back(module->str());
    }
  auto c = make_context(spec, req.make_default());
  if (!c) return reply_error(channel_, id, c.error().code, c.error().message);
  send_info(id, **c);
}

void ContextService::send_info(uint64_t id, const Context& c) {
  send_frame(channel_, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto info = ap::CreateCtxInfo(fbb, fbb.CreateString(c.id), fbb.CreateString(c.language), fbb.CreateString(c.cwd),
                                  c.kernel.pid, c.is_default, c.ready, c.running.has_value(), c.execution_count);
    return std::make_pair(ap::Body::CtxInfo, info.Union());
  });
}

void ContextService::list(uint64_t id) {
  send_frame(channel_, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<ap::CtxInfo>> infos;
    for (const auto& [cid, c] : contexts_)
      infos.push_back(ap::CreateCtxInfo(fbb, fbb.CreateString(c->id), fbb.CreateString(c->language),
                                        fbb.CreateString(c->cwd), c->kernel.pid, c->is_default, c->ready,
                                        c->running.has_value(), c->execution_count));
    return std::make_pair(ap::Body::CtxListReply, ap::CreateCtxListReply(fbb, fbb.CreateVector(infos)).Union());
  });
}

void ContextService::restart(uint64_t id, const ap::CtxRestart& req) {
  Context* c = find_or_refuse(id, req.context_id()->str());
  if (!c) return;
  stop_kernel(*c);
  fail_cells(*c, "ContextRestarted", "the context was restarted");
  c->execution_count = 0;
  if (auto started = start_kernel(*c); !started)
    return reply_error(channel_, id, started.error().code, started.error().message);
  send_info(id, *c);
}

void ContextService::remove(uint64_t id, const ap::CtxRemove& req) {
  Context* c = find_or_refuse(id, req.context_id()->str());
  if (!c) return;
  stop_kernel(*c);
  fail_cells(*c, "ContextRemoved", "the context was removed");
  contexts_.erase(c->id);
  reply_ok(channel_, id);
}

void ContextService::interrupt(uint64_t id, const ap::CtxInterrupt& req) {
  Context* c = find_or_refuse(id, req.context_id()->str());
  if (!c) return;
  if (c->running && c->kernel.pid > 0) {
    Cell& cell = *c->running;
    cell.interrupted = true;
    ::kill(-c->kernel.pid, SIGINT);  // the cell's children too
    if (!cell.kill_at_ns) cell.kill_at_ns = now_ns() + kInterruptGraceMs * 1000000;
  }
  reply_ok(channel_, id);
}

void ContextService::run(uint64_t id, const ap::CodeRun& req) {
  if (has_nul(req.code())) return reply_error(channel_, id, ErrorCode::invalid_argument, "code contains a NUL byte");
  if (!valid_env(req.env())) return reply_error(channel_, id, ErrorCode::invalid_argument, kBadEnv);
  Context* c = nullptr;
  if (req.context_id() && req.context_id()->size()) {
    c = find_or_refuse(id, req.context_id()->str());
    if (!c) return;
  } else {
    auto kernel = kernel_for(req.language());
    if (!kernel) return reply_error(channel_, id, kernel.error().code, kernel.error().message);
    c = default_for((*kernel)->name);
    if (!c) {  // the language's default context starts on first use
      KernelSpec spec;
      spec.language = *kernel;
      spec.user = *lookup_user("user");
      spec.cwd = spec.user.home;
      auto made = make_context(spec, true);
      if (!made) return reply_error(channel_, id, made.error().code, made.error().message);
      c = *made;
    }
  }
  if (c->queued.size() >= kMaxQueuedCells)
    return reply_error(channel_, id, ErrorCode::resource_exhausted,
                       "context " + c->id + " has " + std::to_string(kMaxQueuedCells) + " cells waiting already");
  if (c->kernel.pid < 0)
    if (auto started = start_kernel(*c); !started)
      return reply_error(channel_, id, started.error().code, started.error().message);
  Cell cell;
  cell.frame_id = id;
  cell.request = cell_request(req);
  cell.timeout_ms = req.timeout_ms();
  c->queued.push_back(std::move(cell));
  // A cell that starts at once has its count in the acceptance: one frame less.
  const uint32_t count = start_next(*c);
  const pid_t pid = c->kernel.pid;
  const std::string cid = c->id;
  send_frame(channel_, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(ap::Body::CodeAccepted,
                          ap::CreateCodeAccepted(fbb, fbb.CreateString(cid), pid, count).Union());
  });
}

// --- cells --------------------------------------------------------------------

void ContextService::pump(Context& c) {
  if (const uint32_t count = start_next(c)) send_event(*c.running, ap::CodeEventKind::ExecutionCount, "", count);
}

uint32_t ContextService::start_next(Context& c) {
  if (!c.ready || c.running || c.queued.empty() || c.kernel.pid < 0) return 0;
  c.running = std::move(c.queued.front());
  c.queued.pop_front();
  Cell& cell = *c.running;
  cell.start_ns = now_ns();
  if (cell.timeout_ms) cell.deadline_ns = cell.start_ns + int64_t(cell.timeout_ms) * 1000000;
  c.pending_request = std::move(cell.request);
  flush_request(c);
  // Counted here, not by the kernel: one event less on the kernel's side.
  return cell.execution_count = ++c.execution_count;
}

// The request pipe is non-blocking: a kernel that stopped reading never
// blocks the agent; the rest goes when the pipe has room.
void ContextService::flush_request(Context& c) {
  const int fd = c.kernel.requests.get();
  while (!c.pending_request.empty() && fd >= 0) {
    const ssize_t n = ::write(fd, c.pending_request.data(), c.pending_request.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {  // the kernel is gone: its exit is reaped and reported
      c.pending_request.clear();
      break;
    }
    c.pending_request.erase(0, size_t(n));
  }
  if (fd < 0) return;
  if (c.pending_request.empty()) {
    if (c.request_watched) loop_.remove(fd);  // (an epoll_ctl only when the pipe was full)
    c.request_watched = false;
    return;
  }
  const std::string id = c.id;
  if (!c.request_watched)
    loop_.add(fd, EPOLLOUT, [this, id](uint32_t) {
      if (Context* ctx = find(id)) flush_request(*ctx);
    });
  c.request_watched = true;
}

void ContextService::on_events(const std::string& context_id) {
  Context* c = find(context_id);
  if (!c || !c->kernel.events) return;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(c->kernel.events.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // EAGAIN
    if (n == 0) {      // the kernel closed it (exiting): its exit is reaped
      loop_.remove(c->kernel.events.get());
      c->kernel.events.reset();
      break;
    }
    c->events_buffer.append(buf, size_t(n));
    if (size_t(n) < sizeof buf) break;
  }
  // Lines "<kind> <json>", and "out <n>"/"err <n>" lines followed by n bytes.
  size_t start = 0, nl;
  const std::string id = c->id;
  while ((nl = c->events_buffer.find('\n', start)) != std::string::npos) {
    const std::string line = c->events_buffer.substr(start, nl - start);
    const bool out = line.rfind("out ", 0) == 0, err = line.rfind("err ", 0) == 0;
    if (out || err) {
      const size_t n = std::strtoull(line.c_str() + 4, nullptr, 10);
      if (c->events_buffer.size() - (nl + 1) < n) break;  // the rest is on its way
      forward_output(*c, out ? 0 : 1, c->events_buffer.data() + nl + 1, n);
      start = nl + 1 + n;
      continue;
    }
    start = nl + 1;
    handle_event(*c, line);
    if (!find(id) || !c->kernel.events) return;  // the kernel was replaced meanwhile
  }
  c->events_buffer.erase(0, start);
  if (c->events_buffer.size() > kMaxEventLine) {  // a kernel that writes no newlines is broken
    ::kill(-c->kernel.pid, SIGKILL);
    c->events_buffer.clear();
  }
}

void ContextService::handle_event(Context& c, const std::string& line) {
  const auto space = line.find(' ');
  const std::string kind = line.substr(0, space);
  const std::string payload = space == std::string::npos ? "" : line.substr(space + 1);
  if (kind == "ready") {
    c.ready = true;
    return pump(c);
  }
  if (!c.running) return;
  Cell& cell = *c.running;
  if (kind == "result") {
    drain_output(c);
    send_event(cell, ap::CodeEventKind::Result,
               payload.size() <= kMaxResultBytes
                   ? payload
                   : "{\"is_main_result\":false,\"text\":" +
                         json_string("[a result of " + std::to_string(payload.size()) +
                                     " bytes was dropped: results travel in frames of at most 4 MiB]") +
                         "}");
  } else if (kind == "error") {
    drain_output(c);
    cell.error = true;
    send_event(cell, ap::CodeEventKind::Error,
               cell.timed_out ? error_json("TimeoutError", "the cell ran longer than its timeout of " +
                                                               std::to_string(cell.timeout_ms) + " ms")
                              : payload);
  } else if (kind == "end") {
    drain_output(c);
    finish_cell(c, false);
  }
}

void ContextService::send_event(const Cell& cell, ap::CodeEventKind kind, const std::string& data, uint32_t count) {
  send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return std::make_pair(ap::Body::CodeEvent, ap::CreateCodeEvent(fbb, kind, bytes, count).Union());
  });
}

void ContextService::finish_cell(Context& c, bool restarted) {
  const Cell cell = std::move(*c.running);
  c.running.reset();
  std::vector<ArtifactInfo> changed;
  if (c.file_changes.changed()) {  // a cell that touched no file costs no scan
    const DirSnapshot before = std::move(c.files);
    rescan_files(c);
    changed = changed_files(before, c.files);
  }
  if (changed.size() > kMaxArtifacts) changed.resize(kMaxArtifacts);
  const uint64_t wall_us = uint64_t(now_ns() - cell.start_ns) / 1000;
  send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<ap::Artifact>> artifacts;
    for (const auto& a : changed)
      artifacts.push_back(ap::CreateArtifact(fbb, fbb.CreateString(a.path), fbb.CreateString(a.mime), a.size));
    auto end = ap::CreateCodeEnd(fbb, cell.error, cell.timed_out, cell.interrupted, restarted, wall_us,
                                 cell.execution_count, fbb.CreateVector(artifacts));
    return std::make_pair(ap::Body::CodeEnd, end.Union());
  });
  pump(c);
}

void ContextService::rescan_files(Context& c) {
  std::vector<std::string> dirs;
  c.files = snapshot_dir(c.cwd, &dirs);
  c.file_changes.watch(dirs);
}

// Ends the running cell and every queued one with an error: the kernel they
// were meant for is gone.
void ContextService::fail_cells(Context& c, const std::string& name, const std::string& why) {
  if (c.running) {
    c.running->error = true;
    send_event(*c.running, ap::CodeEventKind::Error, error_json(name, why));
    const Cell cell = std::move(*c.running);
    c.running.reset();
    send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(ap::Body::CodeEnd,
                            ap::CreateCodeEnd(fbb, true, cell.timed_out, cell.interrupted, true,
                                              uint64_t(now_ns() - cell.start_ns) / 1000, cell.execution_count)
                                .Union());
    });
  }
  for (const Cell& cell : c.queued) {
    send_event(cell, ap::CodeEventKind::Error, error_json(name, why));
    send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(ap::Body::CodeEnd, ap::CreateCodeEnd(fbb, true).Union());
    });
  }
  c.queued.clear();
}

// --- output -------------------------------------------------------------------

void ContextService::on_output(const std::string& context_id, int stream) {
  Context* c = find(context_id);
  if (!c) return;
  unique_fd& fd = stream == 0 ? c->kernel.out : c->kernel.err;
  char buf[65536];
  size_t budget = 256u << 10;  // one noisy kernel cannot starve the loop
  while (fd && budget > 0) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN
    if (n == 0) {
      loop_.remove(fd.get());
      fd.reset();
      return;
    }
    budget -= std::min(budget, size_t(n));
    forward_output(*c, stream, buf, size_t(n));
  }
}

// Output goes to the running cell, up to the output limit; output between
// cells (a background thread) has no cell to go to.
void ContextService::forward_output(Context& c, int stream, const char* data, size_t n) {
  if (!c.running) return;
  Cell& cell = *c.running;
  const uint64_t room = output_limit_ > cell.output_bytes ? output_limit_ - cell.output_bytes : 0;
  const size_t keep = size_t(std::min<uint64_t>(room, uint64_t(n)));
  if (keep == 0) return;
  cell.output_bytes += keep;
  send_event(cell, stream == 0 ? ap::CodeEventKind::Stdout : ap::CodeEventKind::Stderr, std::string(data, keep));
}

// The kernel wrote its output before the event that follows it: read what
// is in the pipes first, so the host sees them in order.
void ContextService::drain_output(Context& c) {
  const std::string id = c.id;
  for (int stream = 0; stream < 2; ++stream) {
    for (int rounds = 0; rounds < 32; ++rounds) {  // 32 x 256 KiB at most
      unique_fd& fd = stream == 0 ? c.kernel.out : c.kernel.err;
      int available = 0;
      if (!fd || ::ioctl(fd.get(), FIONREAD, &available) != 0 || available == 0) break;
      on_output(id, stream);
    }
  }
}

// --- time -----------------------------------------------------------------------

int ContextService::next_deadline_ms() const {
  int64_t next = 0;
  for (const auto& [id, c] : contexts_) {
    if (!c->running) continue;
    const Cell& cell = *c->running;
    for (int64_t t : {cell.timed_out ? 0 : cell.deadline_ns, cell.kill_at_ns})
      if (t && (next == 0 || t < next)) next = t;
  }
  if (next == 0) return -1;
  const int64_t ms = (next - now_ns() + 999999) / 1000000;
  return int(std::max<int64_t>(0, std::min<int64_t>(ms, 60000)));
}

void ContextService::enforce_deadlines() {
  const int64_t now = now_ns();
  for (auto& [id, c] : contexts_) {
    if (!c->running || c->kernel.pid < 0) continue;
    Cell& cell = *c->running;
    if (cell.deadline_ns && !cell.timed_out && now >= cell.deadline_ns) {
      cell.timed_out = true;
      ::kill(-c->kernel.pid, SIGINT);
      if (!cell.kill_at_ns) cell.kill_at_ns = now + kInterruptGraceMs * 1000000;
    } else if (cell.kill_at_ns && now >= cell.kill_at_ns) {
      // It would not stop: SIGKILL, and on_child_exit replaces the kernel.
      ::kill(-c->kernel.pid, SIGKILL);
      cell.kill_at_ns = 0;
    }
  }
}

void ContextService::pause_output(bool paused) {
  if (paused == output_paused_) return;
  output_paused_ = paused;
  for (auto& [id, c] : contexts_)
    for (unique_fd* fd : {&c->kernel.events, &c->kernel.out, &c->kernel.err})
      if (*fd) loop_.modify(fd->get(), paused ? 0u : uint32_t(EPOLLIN));
}

}  // namespace soulbox::agent
