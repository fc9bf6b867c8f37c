#include "agent/context_service.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include "agent/kernel_wire.h"
#include "agent/replies.h"
#include "common/monotonic_clock.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {

std::string random_id() {
  unsigned char bytes[8] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != ssize_t(sizeof bytes)) {
    const uint64_t t = uint64_t(monotonic_ns());
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

std::string request_for(const ap::CodeRun& req) {
  std::vector<std::string_view> env;
  if (req.env())
    for (const auto* kv : *req.env()) env.push_back(kv->string_view());
  return cell_request(req.code()->string_view(), env);
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
  c.killed_because.clear();
  c.startup_output.clear();
  c.events.clear();
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
    if (!c.kernel.reaped) ::kill(c.kernel.pid, SIGKILL);
  }
  for (unique_fd* fd : {&c.kernel.events, &c.kernel.requests, &c.kernel.out, &c.kernel.err}) {
    if (*fd) loop_.remove(fd->get());
    fd->reset();
  }
  c.kernel.pid = -1;
  c.ready = false;
}

// Kills a kernel that can no longer serve its context; its exit is reaped
// (on_child_exit) and reported with `why`, and a fresh kernel replaces it.
void ContextService::kill_kernel(Context& c, const std::string& why) {
  if (c.kernel.pid <= 0 || c.kernel.reaped) return;
  if (c.killed_because.empty()) c.killed_because = why;  // the first cause, not its echoes
  ::kill(-c.kernel.pid, SIGKILL);
  ::kill(c.kernel.pid, SIGKILL);
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
  c->kernel.reaped = true;
  on_events(c->id);  // what it said before it went (maybe the cell's end)
  drain_output(*c);
  std::string why = "the " + c->language + " kernel " + exit_text(status);
  const std::string because = std::exchange(c->killed_because, "");
  if (!because.empty() && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) why += ": " + because;
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
    std::string said = c->startup_output;
    while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
    fail_cells(*c, "KernelDied", why + " before it was ready" + (said.empty() ? "" : "; it said: " + said));
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
    if (!cell.kill_at_ns) cell.kill_at_ns = monotonic_ns() + kInterruptGraceMs * 1000000;
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
  cell.request = request_for(req);
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

}  // namespace soulbox::agent
