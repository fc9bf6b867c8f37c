#include "actors/sandbox_actor.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

#include "actors/agent_forward.h"
#include "actors/audit_actor.h"
#include "actors/oom_cause.h"
#include "actors/quota_intent.h"
#include "actors/sandbox_ops.h"
#include "actors/sandbox_record.h"
#include "audit/audit_outbox.h"
#include "bus/subjects.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "messages/agent_protocol.h"
#include "tenants/ask_json.h"

namespace soulbox::actors {
namespace ap = agentproto;
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

using Self = SandboxSelf;

void publish(Self* self, const std::string& subject, const std::string& bytes) {
  if (subject.empty()) return;
  if (auto st = self->state.ctx->bus->publish(subject, bytes); !st)
    logger("sandbox")->warn("{}: publish to {} failed: {}", self->state.settings.id, subject, st.error().message);
}

// A stream's events go to whoever started it and whoever attached since.
void publish_events(Self* self, const PendingCall& call, const std::string& bytes) {
  publish(self, call.events_subject, bytes);
  for (const auto& subject : call.attached_subjects) publish(self, subject, bytes);
}

void reply_error(Self* self, const std::string& reply_to, const std::string& request_id, ErrorCode code,
                 const std::string& message) {
  publish(self, reply_to, bp::error_reply(request_id, code, message));
}

std::string info_reply(Self* self, const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto info = build_sandbox_info(fbb, record_of(self->state));
  bp::FinishReplyBuffer(fbb,
                        bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::SandboxInfo, info.Union()));
  return bp::finish(fbb);
}

void persist(Self* self) {
  const auto& st = self->state;
  if (auto w = save_record(*st.ctx->store, record_of(st)); !w)
    logger("sandbox")->error("{}: cannot persist its record: {}", st.settings.id, w.error().message);
}

Status send_frame(Self* self, const std::string& frame) {
  // The agent drops the channel on a frame over its limit: refuse it here.
  if (frame.size() > ap::kMaxFrameBytes + 4)
    return Error{ErrorCode::invalid_argument, "the request is larger than one agent frame (" +
                                                  std::to_string(ap::kMaxFrameBytes >> 20) +
                                                  " MiB); send files in parts (op upload, docs/bus.md)"};
  const int fd = self->state.handle.box->channel.get();
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("send to agent", errno, ErrorCode::unavailable);
    done += size_t(n);
  }
  return {};
}

// CAF holds the receiver of a delayed message until it is delivered, so a
// timer armed for the whole lifetime would keep an ended sandbox's actor in
// memory until then: the deadline is checked in steps of at most this.
constexpr caf::timespan kExpiryStep = std::chrono::seconds(1);

void check_expiry_after(Self* self, uint64_t generation) {
  const caf::timespan left = self->state.expires_at - self->clock().now();
  self->delayed_send(self, std::clamp(left, caf::timespan{0}, kExpiryStep), expire_atom::value, generation);
}

void arm_expiry(Self* self) {
  auto& st = self->state;
  const uint64_t generation = ++st.timer_generation;
  const int64_t delay_ms = std::max<int64_t>(0, st.expires_unix_ms - unix_ms_now());
  st.expires_at = self->clock().now() + std::chrono::milliseconds(delay_ms);
  check_expiry_after(self, generation);
}

// Sets the lifetime to `timeout_ms` from now, never past the node's maximum.
void set_lifetime(Self* self, uint64_t timeout_ms) {
  auto& st = self->state;
  const int64_t cap = st.created_unix_ms + int64_t(st.ctx->settings.max_lifetime_ms);
  st.expires_unix_ms = std::min<int64_t>(unix_ms_now() + int64_t(timeout_ms), cap);
  st.settings.timeout_ms = timeout_ms;
}

void end(Self* self, const std::string& reason, const std::string& principal = "");

// One audit event about this sandbox (resource "sandbox/<id>" or a path in it).
audit::Event sandbox_event(Self* self, const std::string& action, const std::string& result,
                           const std::string& principal, const std::string& path = "",
                           const nlohmann::json& details = nlohmann::json::object()) {
  auto& st = self->state;
  audit::Event e;
  e.id = st.settings.id + "-" + std::to_string(++st.audit_count);
  e.unix_ms = unix_ms_now();
  e.tenant = st.settings.tenant;
  e.principal = principal;
  e.action = action;
  e.resource = "sandbox/" + st.settings.id + (path.empty() ? "" : ":" + path);
  e.result = result;
  e.source = st.ctx->settings.node_id;
  e.details = details.dump();
  return e;
}

// An event about an act that changes no stored state (a process started, a
// file read): sent to the audit actor, which appends it.
void audit_event(Self* self, const std::string& action, const std::string& result, const std::string& principal,
                 const std::string& path = "", const nlohmann::json& details = nlohmann::json::object()) {
  if (!self->state.ctx->audit) return;
  self->send(self->state.ctx->audit, audit_atom::value, sandbox_event(self, action, result, principal, path, details));
}

// The writes that go into the same batch as a state change: its event in
// the audit outbox (none when nothing is audited), and the end of the
// create's quota intent (the record now holds the quota).
std::vector<storage::Write> outbox_of(Self* self, const audit::Event& event) {
  std::vector<storage::Write> writes;
  if (self->state.ctx->audit) writes.push_back(audit::outbox_write(event));
  if (!self->state.settings.quota_change.empty()) writes.push_back(intent_delete(self->state.settings.quota_change));
  return writes;
}

// After a batch with an outbox entry: the audit actor moves it into the chain.
void drain_outbox_soon(Self* self) {
  if (self->state.ctx->audit) self->send(self->state.ctx->audit, outbox_atom::value);
}

// Saves the record (synced) with the event that describes its change.
void persist_with_event(Self* self, const audit::Event& event) {
  const auto& st = self->state;
  if (auto w = save_record(*st.ctx->store, record_of(st), outbox_of(self, event)); !w)
    logger("sandbox")->error("{}: cannot persist its record: {}", st.settings.id, w.error().message);
  drain_outbox_soon(self);
}

// What the sandbox spent of its tenant's quota, in its create and end
// events (audit replay folds usage from them: docs/audit.md).
void add_quota_ask(const SandboxSettings& s, nlohmann::json& details) {
  if (!s.quota_spent) return;
  details["quota_ask"] = tenants::ask_json({s.quota_cpus, s.quota_memory_bytes, s.quota_disk_bytes});
}

std::string principal_of(const bp::Envelope& env) {
  return env.principal() ? env.principal()->str() : "";
}

// A part of an upload before the last one failed in the agent: the last
// part's answer says so.
void note_upload_failure(Self* self, const ap::Frame& frame) {
  const auto* e = frame.body_as_ErrorReply();
  if (!e) return;
  for (auto& [id, upload] : self->state.uploads)
    if (upload.frame_id == frame.id() && !upload.failed)
      upload.failed = Error{ErrorCode(e->code()), e->message() ? e->message()->str() : "upload failed"};
}

// --- answers from the agent -------------------------------------------------

void on_agent_frame(Self* self, std::string_view bytes) {
  auto& st = self->state;
  const ap::Frame* frame = ap::GetFrame(reinterpret_cast<const uint8_t*>(bytes.data()));
  auto audited = [&](const PendingCall& call, bool ok) {
    if (!call.audit_action.empty())
      audit_event(self, call.audit_action, ok ? "ok" : "error", call.principal, call.audit_path);
  };
  if (frame->id() == 0) {  // Hello
    const auto* hello = frame->body_as_Hello();
    if (hello && hello->protocol_version() < ap::kMinAgentProtocolVersion) {
      logger("sandbox")->error("{}: agent speaks protocol {}, need >= {}", st.settings.id, hello->protocol_version(),
                               ap::kMinAgentProtocolVersion);
      end(self, end_reason::agent_died);
    }
    return;
  }
  auto it = st.pending.find(frame->id());
  if (it == st.pending.end()) {
    note_upload_failure(self, *frame);
    return;  // else a stream the client stopped
  }
  PendingCall& call = it->second;
  const ap::Body type = frame->body_type();
  using Kind = PendingCall::Kind;
  switch (call.kind) {
    case Kind::exec:
      if (type == ap::Body::ProcStarted && !call.reply_to.empty()) {
        audited(call, true);
        call.pid = frame->body_as_ProcStarted()->pid();
        flatbuffers::FlatBufferBuilder fbb(256);
        auto started =
            bp::CreateExecStarted(fbb, frame->body_as_ProcStarted()->pid(), fbb.CreateString(call.events_subject));
        bp::FinishReplyBuffer(
            fbb, bp::CreateReply(fbb, fbb.CreateString(call.request_id), 0, 0, bp::Body::ExecStarted, started.Union()));
        publish(self, call.reply_to, bp::finish(fbb));
        call.reply_to.clear();
        return;
      }
      if (!call.reply_to.empty()) {  // refused before it started
        audited(call, false);
        publish(self, call.reply_to, reply_from_agent(*frame, call.request_id));
        st.pending.erase(it);
        return;
      }
      publish_events(self, call, reply_from_agent(*frame, call.request_id));
      if (type == ap::Body::ProcEnd) st.pending.erase(it);
      return;
    case Kind::watch:
      if (type == ap::Body::WatchStarted && !call.reply_to.empty()) {
        call.watch_id = frame->body_as_WatchStarted()->watch_id();
        flatbuffers::FlatBufferBuilder fbb(256);
        auto opened = bp::CreateWatchOpened(fbb, call.watch_id, fbb.CreateString(call.events_subject));
        bp::FinishReplyBuffer(
            fbb, bp::CreateReply(fbb, fbb.CreateString(call.request_id), 0, 0, bp::Body::WatchOpened, opened.Union()));
        publish(self, call.reply_to, bp::finish(fbb));
        call.reply_to.clear();
        return;
      }
      if (!call.reply_to.empty()) {
        publish(self, call.reply_to, reply_from_agent(*frame, call.request_id));
        st.pending.erase(it);
        return;
      }
      publish(self, call.events_subject, reply_from_agent(*frame, call.request_id));
      return;
    case Kind::read:
      if (const auto* chunk = frame->body_as_FileChunk()) {
        if (chunk->data() && !call.overflow) {
          call.data.append(reinterpret_cast<const char*>(chunk->data()->data()), chunk->data()->size());
          call.overflow = call.data.size() + 4096 > bp::kMaxBusMessageBytes;
        }
        if (!chunk->eof()) return;
        audited(call, !call.overflow);
        if (call.overflow)
          reply_error(self, call.reply_to, call.request_id, ErrorCode::resource_exhausted,
                      "the file is larger than one bus message (" + std::to_string(bp::kMaxBusMessageBytes >> 20) +
                          " MiB); read it in parts with offset and length");
        else
          publish(self, call.reply_to, file_data_reply(call.request_id, call.data));
      } else {
        audited(call, false);
        publish(self, call.reply_to, reply_from_agent(*frame, call.request_id));
      }
      st.pending.erase(it);
      return;
    case Kind::code:
      if (type == ap::Body::CodeAccepted && !call.reply_to.empty()) {
        audited(call, true);
        const auto* accepted = frame->body_as_CodeAccepted();
        flatbuffers::FlatBufferBuilder fbb(256);
        auto started =
            bp::CreateCodeStarted(fbb, fbb.CreateString(accepted->context_id() ? accepted->context_id()->str() : ""),
                                  accepted->pid(), fbb.CreateString(call.events_subject), accepted->execution_count());
        bp::FinishReplyBuffer(
            fbb, bp::CreateReply(fbb, fbb.CreateString(call.request_id), 0, 0, bp::Body::CodeStarted, started.Union()));
        publish(self, call.reply_to, bp::finish(fbb));
        call.reply_to.clear();
        return;
      }
      if (!call.reply_to.empty()) {  // refused before it ran
        audited(call, false);
        publish(self, call.reply_to, reply_from_agent(*frame, call.request_id));
        st.pending.erase(it);
        return;
      }
      publish(self, call.events_subject, reply_from_agent(*frame, call.request_id));
      if (type == ap::Body::CodeEnd) st.pending.erase(it);
      return;
    case Kind::unwatch:
      if (type == ap::Body::Ok) {
        for (auto w = st.pending.begin(); w != st.pending.end(); ++w) {
          if (w->second.kind == Kind::watch && w->second.watch_id == call.watch_id) {
            st.pending.erase(w);
            break;
          }
        }
      }
      [[fallthrough]];
    case Kind::reply:
      audited(call, type != ap::Body::ErrorReply);
      publish(self, call.reply_to, reply_from_agent(*frame, call.request_id));
      st.pending.erase(frame->id());
      return;
  }
}

// A running cell's events from one batch, published as one CodeEvents.
struct CodeBurst {
  std::vector<const ap::Frame*> frames;
  size_t bytes = 0;
};

void publish_burst(Self* self, uint64_t id, const CodeBurst& burst) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end() || burst.frames.empty()) return;
  PendingCall& call = it->second;
  bp::ReplyT reply;
  reply.request_id = call.request_id;
  bp::CodeEventsT events;
  bool ended = false;
  for (const ap::Frame* f : burst.frames) {
    if (const auto* e = f->body_as_CodeEvent()) events.events.emplace_back(e->UnPack());
    if (const auto* end = f->body_as_CodeEnd()) {
      events.end.reset(end->UnPack());
      ended = true;
    }
  }
  reply.body.Set(std::move(events));
  flatbuffers::FlatBufferBuilder fbb(256 + burst.bytes);
  bp::FinishReplyBuffer(fbb, bp::Reply::Pack(fbb, &reply));
  publish(self, call.events_subject, bp::finish(fbb));
  if (ended) st.pending.erase(it);
}

// Frames from the agent, as one read brought them: a running cell's events
// and end are gathered per cell into one bus message (kept under 1 MiB);
// everything else is handled frame by frame, in order.
void on_agent_frames(Self* self, const std::string& batch) {
  constexpr size_t kMaxBurstBytes = 1u << 20;
  std::map<uint64_t, CodeBurst> bursts;
  for (size_t at = 0; at + 4 <= batch.size();) {
    const auto* p = reinterpret_cast<const unsigned char*>(batch.data() + at);
    const uint32_t n = p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24);
    const std::string_view bytes(batch.data() + at + 4, n);
    at += 4 + size_t(n);
    const ap::Frame* frame = ap::GetFrame(reinterpret_cast<const uint8_t*>(bytes.data()));
    auto call = self->state.pending.find(frame->id());
    const bool cell_event = call != self->state.pending.end() && call->second.kind == PendingCall::Kind::code &&
                            call->second.reply_to.empty() && call->second.attached_subjects.empty() &&
                            (frame->body_type() == ap::Body::CodeEvent || frame->body_type() == ap::Body::CodeEnd);
    if (!cell_event) {
      on_agent_frame(self, bytes);
      continue;
    }
    CodeBurst& burst = bursts[frame->id()];
    burst.frames.push_back(frame);
    burst.bytes += n;
    if (burst.bytes > kMaxBurstBytes || frame->body_type() == ap::Body::CodeEnd) {
      publish_burst(self, frame->id(), burst);
      bursts.erase(frame->id());
    }
  }
  for (const auto& [id, burst] : bursts) publish_burst(self, id, burst);
}

// --- requests from the bus ----------------------------------------------------

// Sends `frame` to the agent and remembers who waits for its answer.
void call_agent(Self* self, const std::string& frame, uint64_t id, PendingCall call) {
  if (auto sent = send_frame(self, frame); !sent) {
    const bool refused = sent.error().code == ErrorCode::invalid_argument;
    reply_error(self, call.reply_to, call.request_id, sent.error().code,
                refused ? sent.error().message : "the sandbox's agent is not reachable: " + sent.error().message);
    return;
  }
  self->state.pending.emplace(id, std::move(call));
}

bool check_events_token(Self* self, const bus::Message& m, const std::string& request_id,
                        const flatbuffers::String* token, std::string* subject) {
  const std::string t = token ? token->str() : "";
  if (auto ok = subjects::check_token("events_token", t); !ok) {
    reply_error(self, m.reply, request_id, ErrorCode::invalid_argument, ok.error().message);
    return false;
  }
  *subject = subjects::sandbox_events(self->state.settings.id, t);
  return true;
}

// What an audit event names inside the sandbox for a request body: the
// program, the code context, or the file(s).
std::string audit_path(const bp::Envelope& env) {
  if (const auto* exec = env.body_as_ExecStart())
    return exec->process()->argv()->size() ? exec->process()->argv()->Get(0)->str() : "";
  if (const auto* code = env.body_as_CodeExecute())
    return code->run()->context_id() ? code->run()->context_id()->str() : "";
  if (const auto* w = env.body_as_FileWrite()) return w->path() ? w->path()->str() : "";
  if (const auto* r = env.body_as_FileRead()) return r->path()->str();
  if (const auto* rm = env.body_as_Remove()) return rm->path()->str();
  if (const auto* mv = env.body_as_Rename()) return mv->from()->str() + " -> " + mv->to()->str();
  if (const auto* mk = env.body_as_MakeDir()) return mk->path()->str();
  return "";
}

// The agent call a request makes, as its op's row describes it.
PendingCall call_for(const OpRequest& r) {
  PendingCall call;
  call.kind = r.op.kind.value_or(PendingCall::Kind::reply);
  call.reply_to = r.message.reply;
  call.request_id = r.request_id;
  call.principal = principal_of(r.envelope);
  call.audit_action = r.op.audit_action;
  if (!call.audit_action.empty()) call.audit_path = audit_path(r.envelope);
  return call;
}

// The sandbox's env plus the tenant secrets this process asked for (each
// read audited by name; values never leave the env).
Result<std::vector<std::string>> process_env(Self* self, const bp::ExecStart& exec, const std::string& principal) {
  auto& st = self->state;
  if (!exec.secrets() || exec.secrets()->size() == 0) return st.settings.env;
  std::vector<std::string> names;
  for (const auto* name : *exec.secrets()) names.push_back(name->str());
  auto opened = st.ctx->tenants
                    ? st.ctx->tenants->secret_env(st.settings.tenant, names)
                    : Result<std::vector<std::string>>(Error{ErrorCode::unavailable, "this node has no tenants"});
  for (const auto& name : names)
    audit_event(self, "secret.read", opened ? "ok" : "error", principal, "",
                {{"secret", "secret/" + st.settings.tenant + "/" + name}});
  if (!opened) return opened.error();
  std::vector<std::string> env = st.settings.env;
  env.insert(env.end(), opened->begin(), opened->end());
  return env;
}

constexpr size_t kMaxUploads = 64;

std::string ok_reply(const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto ok = ap::CreateOk(fbb);
  bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::Ok, ok.Union()));
  return bp::finish(fbb);
}

void pause(Self* self, const std::string& why, const std::string& principal = "") {
  auto& st = self->state;
  if (st.state != bp::SandboxState::Running) return;
  if (auto frozen = st.cgroup->freeze(); !frozen) {
    logger("sandbox")->error("{}: pause failed: {}", st.settings.id, frozen.error().message);
    return;
  }
  st.state = bp::SandboxState::Paused;
  ++st.timer_generation;  // a paused sandbox does not expire
  logger("sandbox")->info("{} paused ({})", st.settings.id, why);
  persist_with_event(self, sandbox_event(self, "sandbox.pause", "ok", principal, "", {{"why", why}}));
}

Status resume(Self* self, const std::string& principal) {
  auto& st = self->state;
  if (st.state == bp::SandboxState::Running) return {};
  if (auto thawed = st.cgroup->thaw(); !thawed) return thawed;
  st.state = bp::SandboxState::Running;
  set_lifetime(self, st.settings.timeout_ms);
  arm_expiry(self);
  persist_with_event(self, sandbox_event(self, "sandbox.resume", "ok", principal));
  return {};
}

}  // namespace

void on_exec(Self* self, const OpRequest& r) {
  const auto* exec = r.envelope.body_as_ExecStart();
  PendingCall call = call_for(r);
  if (!check_events_token(self, r.message, r.request_id, exec->events_token(), &call.events_subject)) return;
  auto env_of_process = process_env(self, *exec, call.principal);
  if (!env_of_process) {
    reply_error(self, r.message.reply, r.request_id, env_of_process.error().code, env_of_process.error().message);
    return;
  }
  const uint64_t id = self->state.next_frame_id++;
  call_agent(self, process_start_frame(id, *exec->process(), *env_of_process), id, std::move(call));
}

// A cell for a code context. The sandbox's env goes with every cell, under
// the cell's own (kernels set it for the cell and restore it after).
void on_code(Self* self, const OpRequest& r) {
  const auto* code = r.envelope.body_as_CodeExecute();
  PendingCall call = call_for(r);
  if (!check_events_token(self, r.message, r.request_id, code->events_token(), &call.events_subject)) return;
  const uint64_t id = self->state.next_frame_id++;
  call_agent(self, code_run_frame(id, *code->run(), self->state.settings.env), id, std::move(call));
}

void on_watch(Self* self, const OpRequest& r) {
  const auto* open = r.envelope.body_as_WatchOpen();
  PendingCall call = call_for(r);
  if (!check_events_token(self, r.message, r.request_id, open->events_token(), &call.events_subject)) return;
  const uint64_t id = self->state.next_frame_id++;
  call_agent(self, watch_start_frame(id, *open->watch()), id, std::move(call));
}

void on_upload(Self* self, const OpRequest& r) {
  auto& st = self->state;
  const bus::Message& m = r.message;
  const auto* upload = r.envelope.body_as_FileUpload();
  const std::string upload_id = upload->upload_id()->str();
  const ap::FileWrite& part = *upload->part();
  auto it = st.uploads.find(upload_id);
  if (it == st.uploads.end()) {
    if (!part.path()) {
      reply_error(self, m.reply, r.request_id, ErrorCode::not_found, "no upload '" + upload_id + "' in progress");
      return;
    }
    if (st.uploads.size() >= kMaxUploads) {
      reply_error(self, m.reply, r.request_id, ErrorCode::resource_exhausted,
                  "too many uploads in progress in sandbox " + st.settings.id);
      return;
    }
    it = st.uploads.emplace(upload_id, Upload{st.next_frame_id++, part.path()->str(), std::nullopt}).first;
  }
  Upload& u = it->second;
  const bool final = part.final();
  if (!final) {
    if (u.failed) {
      reply_error(self, m.reply, r.request_id, u.failed->code, u.failed->message);
      return;
    }
    if (auto sent = send_frame(self, file_write_frame(u.frame_id, part)); !sent) {
      reply_error(self, m.reply, r.request_id, ErrorCode::unavailable, sent.error().message);
      return;
    }
    publish(self, m.reply, ok_reply(r.request_id));
    return;
  }
  const Upload done = u;
  st.uploads.erase(it);
  PendingCall call = call_for(r);
  call.audit_path = done.path;
  if (done.failed) {  // the agent forgets the failed write at its last frame and answers nothing
    (void)send_frame(self, file_write_frame(done.frame_id, part));
    audit_event(self, call.audit_action, "error", call.principal, call.audit_path);
    reply_error(self, m.reply, r.request_id, done.failed->code, done.failed->message);
    return;
  }
  call_agent(self, file_write_frame(done.frame_id, part), done.frame_id, std::move(call));
}

// Adds a listener to a running process's stream (E2B's process Connect):
// it sees what the process writes from now on, and its end.
void on_attach(Self* self, const OpRequest& r) {
  const bus::Message& m = r.message;
  const auto* attach = r.envelope.body_as_ExecAttach();
  std::string subject;
  if (!check_events_token(self, m, r.request_id, attach->events_token(), &subject)) return;
  for (auto& [id, call] : self->state.pending) {
    if (call.kind != PendingCall::Kind::exec || call.pid != attach->pid() || !call.reply_to.empty()) continue;
    if (call.attached_subjects.size() >= 16) {
      reply_error(self, m.reply, r.request_id, ErrorCode::resource_exhausted,
                  "process " + std::to_string(call.pid) + " already has 16 listeners");
      return;
    }
    call.attached_subjects.push_back(subject);
    flatbuffers::FlatBufferBuilder fbb(256);
    auto started = bp::CreateExecStarted(fbb, call.pid, fbb.CreateString(subject));
    bp::FinishReplyBuffer(
        fbb, bp::CreateReply(fbb, fbb.CreateString(r.request_id), 0, 0, bp::Body::ExecStarted, started.Union()));
    publish(self, m.reply, bp::finish(fbb));
    return;
  }
  reply_error(self, m.reply, r.request_id, ErrorCode::not_found,
              "no running process " + std::to_string(attach->pid()) + " in sandbox " + self->state.settings.id);
}

void on_forwarded(Self* self, const OpRequest& r) {
  if (const auto* write = r.envelope.body_as_FileWrite(); write && (!write->final() || !write->path())) {
    reply_error(self, r.message.reply, r.request_id, ErrorCode::invalid_argument,
                "a FileWrite on the bus carries the whole file: path set and final=true");
    return;
  }
  const uint64_t id = self->state.next_frame_id++;
  auto frame = forward_request(r.envelope, id);
  PendingCall call = call_for(r);
  if (const auto* stop = r.envelope.body_as_WatchStop()) call.watch_id = stop->watch_id();
  call_agent(self, *frame, id, std::move(call));
}

// --- ops the actor answers itself ------------------------------------------------

void on_info(Self* self, const OpRequest& r) {
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_kill(Self* self, const OpRequest& r) {
  end(self, end_reason::request, principal_of(r.envelope));
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_pause(Self* self, const OpRequest& r) {
  pause(self, "request", principal_of(r.envelope));
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_resume(Self* self, const OpRequest& r) {
  if (auto resumed = resume(self, principal_of(r.envelope)); !resumed)
    reply_error(self, r.message.reply, r.request_id, resumed.error().code, "resume failed: " + resumed.error().message);
  else
    publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_timeout(Self* self, const OpRequest& r) {
  auto& st = self->state;
  const auto* t = r.envelope.body_as_SetTimeout();
  if (!t || t->timeout_ms() == 0) {
    reply_error(self, r.message.reply, r.request_id, ErrorCode::invalid_argument,
                "timeout needs a SetTimeout with timeout_ms > 0");
    return;
  }
  set_lifetime(self, t->timeout_ms());
  if (st.state == bp::SandboxState::Running) arm_expiry(self);
  persist(self);
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_metrics_query(Self* self, const OpRequest& r) {
  const auto* q = r.envelope.body_as_MetricsQuery();
  const auto points = self->state.metrics.range(q ? q->from_unix_ms() : 0, q ? q->to_unix_ms() : 0);
  std::vector<bp::MetricsSample> samples;
  samples.reserve(points.size());
  for (const auto& p : points)
    samples.emplace_back(p.unix_ms, p.cpu_percent, p.memory_percent, p.memory_bytes, p.disk_read_bytes,
                         p.disk_write_bytes, p.net_rx_bytes, p.net_tx_bytes, p.processes, p.oom_kills);
  flatbuffers::FlatBufferBuilder fbb(256 + samples.size() * sizeof(bp::MetricsSample));
  auto series = bp::CreateMetricsSeries(fbb, fbb.CreateVectorOfStructs(samples));
  bp::FinishReplyBuffer(
      fbb, bp::CreateReply(fbb, fbb.CreateString(r.request_id), 0, 0, bp::Body::MetricsSeries, series.Union()));
  publish(self, r.message.reply, bp::finish(fbb));
}

namespace {

// --- dispatch ---------------------------------------------------------------------

void on_bus(Self* self, const bus::Message& m) {
  auto& st = self->state;
  auto env = bp::open_envelope(m.data);
  if (!env) {
    ++st.ctx->bad_messages;
    reply_error(self, m.reply, "", env.error().code, env.error().message);
    return;
  }
  const std::string request_id = (*env)->request_id()->str();
  if ((*env)->deadline_unix_ms() && (*env)->deadline_unix_ms() < unix_ms_now()) {
    reply_error(self, m.reply, request_id, ErrorCode::timeout, "the request's deadline passed before it ran");
    return;
  }
  const std::string name = subjects::last_token(m.subject);
  // The bus is a trusted network (the gateway authenticates); a tenant named
  // in the envelope may still only reach its own sandboxes.
  const auto* tenant = (*env)->tenant();
  if (tenant && tenant->size() && !st.settings.tenant.empty() && tenant->str() != st.settings.tenant) {
    reply_error(self, m.reply, request_id, ErrorCode::permission_denied,
                "sandbox " + st.settings.id + " belongs to another tenant");
    return;
  }
  const SandboxOp* op = find_sandbox_op(name);
  if (st.ctx->tenants) {
    const auto [resource, action] = permission_for(op);
    const bool is_owner = principal_of(**env) == st.settings.principal;  // for own-only permissions
    if (auto allowed = st.ctx->tenants->authorize_principal(st.settings.tenant, principal_of(**env), resource, action,
                                                            is_owner, bp::envelope_roles(**env));
        !allowed) {
      audit_event(self, "permission.denied", "denied", principal_of(**env), "", {{"op", name}});
      reply_error(self, m.reply, request_id, allowed.error().code, allowed.error().message);
      return;
    }
  }
  if (st.state == bp::SandboxState::Terminated) {
    reply_error(self, m.reply, request_id, ErrorCode::not_found,
                "sandbox " + st.settings.id + " has ended (" + st.end_reason + ")");
    return;
  }
  if (op && !op->kind) return op->handler(self, OpRequest{*op, m, **env, request_id});
  if (st.state == bp::SandboxState::Paused) {
    reply_error(self, m.reply, request_id, ErrorCode::unavailable,
                "sandbox " + st.settings.id + " is paused; resume it first");
    return;
  }
  const bp::Body body = (*env)->body_type();
  if (op && op->body == body) return op->handler(self, OpRequest{*op, m, **env, request_id});
  reply_error(self, m.reply, request_id, ErrorCode::invalid_argument,
              "unknown operation '" + name + "' with a " + bp::EnumNameBody(body) + " body (docs/bus.md)");
}

// --- metrics and the end -------------------------------------------------------

// rx and tx bytes of every interface but lo in the agent's network namespace.
std::pair<uint64_t, uint64_t> net_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/net/dev");
  std::string line;
  uint64_t rx = 0, tx = 0;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[9] = {};
    for (auto& x : v) fields >> x;
    rx += v[0];
    tx += v[8];
  }
  return {rx, tx};
}

// Processes the OOM killer took since the last sample: logged and audited
// with the cause; the sandbox goes on unless its agent was one of them.
void report_oom_kills(Self* self, const isolation::CgroupUsage& usage) {
  auto& st = self->state;
  const uint64_t killed = usage.oom_kills - st.oom_kills;
  st.oom_kills = usage.oom_kills;
  const std::string cause =
      describe(oom_cause(st.cgroup->memory_limit_reached_since_last_check()), st.settings.memory_bytes);
  logger("sandbox")->warn("{}: the OOM killer took {} process(es): {}", st.settings.id, killed, cause);
  audit_event(self, "sandbox.oom", "ok", "", "", {{"killed", killed}, {"cause", cause}});
}

void sample(Self* self) {
  auto& st = self->state;
  if (st.state == bp::SandboxState::Terminated) return;
  self->delayed_send(self, std::chrono::milliseconds(st.ctx->settings.metrics_interval_ms), sample_atom::value);
  if (st.state != bp::SandboxState::Running) return;
  auto usage = st.cgroup->usage();
  if (!usage) return;
  const int64_t now = unix_ms_now();
  MetricsPoint p;
  p.unix_ms = now;
  if (st.last_sample_ms && now > st.last_sample_ms)
    p.cpu_percent = float(double(usage->cpu_usec - std::min(usage->cpu_usec, st.last_cpu_usec)) /
                          (double(now - st.last_sample_ms) * 1000.0) * 100.0);
  st.last_cpu_usec = usage->cpu_usec;
  st.last_sample_ms = now;
  p.memory_bytes = usage->memory_current;
  if (st.settings.memory_bytes)
    p.memory_percent = float(double(p.memory_bytes) * 100.0 / double(st.settings.memory_bytes));
  p.disk_read_bytes = usage->io_read_bytes;
  p.disk_write_bytes = usage->io_write_bytes;
  std::tie(p.net_rx_bytes, p.net_tx_bytes) = net_bytes(st.handle.box->agent_pid);
  p.processes = uint32_t(usage->pids_current);
  p.oom_kills = uint32_t(usage->oom_kills);
  st.metrics.add(p);
  if (usage->oom_kills > st.oom_kills) report_oom_kills(self, *usage);
}

void end(Self* self, const std::string& reason, const std::string& principal) {
  auto& st = self->state;
  if (st.state == bp::SandboxState::Terminated) return;
  // An agent that died with OOM kills on the books was most likely one of them.
  std::string why = reason;
  if (reason == end_reason::agent_died) {
    if (auto u = st.cgroup->usage(); u && u->oom_kills > 0)
      why = oom_cause(st.cgroup->memory_limit_reached_since_last_check()) == OomCause::own_limit
                ? end_reason::oom
                : end_reason::node_memory;
  }
  st.state = bp::SandboxState::Terminated;
  st.ended_unix_ms = unix_ms_now();
  st.end_reason = why;
  ++st.timer_generation;
  st.subscription.reset();
  st.ctx->agent_io->forget(st.handle.box->channel.get());
  for (auto& [id, call] : st.pending) {
    const std::string message = "sandbox " + st.settings.id + " ended (" + why + ")";
    if (!call.reply_to.empty())
      reply_error(self, call.reply_to, call.request_id, ErrorCode::unavailable, message);
    else
      publish_events(self, call, bp::error_reply(call.request_id, ErrorCode::unavailable, message));
  }
  st.pending.clear();
  if (auto d = st.ctx->launcher->destroy(st.settings.id); !d)
    logger("sandbox")->error("{}: destroy failed: {}", st.settings.id, d.error().message);
  st.handle.box.reset();
  // The end is recorded with its audit event in one synced batch. The event
  // carries the quota the sandbox held: the give-back follows, tagged with
  // the sandbox, and a crash before it completes is finished exactly once
  // at the next start (daemon/recovery.h).
  nlohmann::json end_details{{"reason", why}};
  if (st.settings.quota_spent) add_quota_ask(st.settings, end_details);
  crash_point("sandbox.end.before_record");
  persist_with_event(self, sandbox_event(self, why == end_reason::request ? "sandbox.kill" : "sandbox.end", "ok",
                                         principal, "", end_details));
  crash_point("sandbox.end.after_record");
  if (st.settings.quota_spent && st.ctx->tenants) {
    tenants::SandboxAsk ask{st.settings.quota_cpus, st.settings.quota_memory_bytes, st.settings.quota_disk_bytes};
    if (auto given = st.ctx->tenants->release(st.settings.tenant, ask, quota_release_change(st.settings.id)); given) {
      crash_point("sandbox.end.after_release");
      st.settings.quota_spent = false;
      // Unsynced: if it is lost, recovery finds the give-back on the stream.
      if (auto w = save_record(*st.ctx->store, record_of(st), {}, /*sync=*/false); !w)
        logger("sandbox")->error("{}: cannot persist its record: {}", st.settings.id, w.error().message);
    } else {
      logger("sandbox")->error("{}: quota not given back yet (at the next start): {}", st.settings.id,
                               given.error().message);
    }
  }
  publish(self, subjects::sandbox_events(st.settings.id, "lifecycle"), info_reply(self, ""));
  logger("sandbox")->info("{} ended: {}", st.settings.id, why);
  self->send(st.node, ended_atom::value, st.settings.id, why);
  self->quit();
}

// Subscribes, starts the agent reader and the timers, records the sandbox
// and answers the create request.
void start(Self* self, const std::string& reply_to, const std::string& request_id, bool pool_hit) {
  auto& st = self->state;
  auto sub = st.ctx->bus->subscribe(
      subjects::sandbox_ops(st.settings.id), "",
      [target = caf::actor(self)](bus::Message m) { caf::anon_send(target, bus_atom::value, std::move(m)); });
  // No flush: the reply below leaves on the same connection after the SUB,
  // so the server has the subscription before the client can use it.
  Status ready = sub ? Status() : Status(sub.error());
  if (ready) ready = st.ctx->agent_io->watch(st.handle.box->channel.get(), self);
  if (!ready) {
    reply_error(self, reply_to, request_id, ready.error().code, "sandbox start failed: " + ready.error().message);
    st.subscription = sub ? std::move(*sub) : nullptr;
    end(self, end_reason::agent_died);
    return;
  }
  st.subscription = std::move(*sub);
  st.state = bp::SandboxState::Running;
  set_lifetime(self, st.settings.timeout_ms);
  arm_expiry(self);
  self->send(self, sample_atom::value);
  // Recorded before the reply (a list right after the create sees it), in
  // one batch with its audit event.
  nlohmann::json details{{"template", st.settings.template_name},
                         {"memory_bytes", st.settings.memory_bytes},
                         {"cpus", st.settings.cpus},
                         {"timeout_ms", st.settings.timeout_ms},
                         {"pool_hit", pool_hit}};
  add_quota_ask(st.settings, details);
  const auto event = sandbox_event(self, "sandbox.create", "ok", st.settings.principal, "", details);
  const std::string key = create_request_key(st.settings.tenant, request_id);
  if (auto saved = save_created_record(*st.ctx->store, record_of(st), key, outbox_of(self, event)); !saved)
    logger("sandbox")->error("{}: cannot record it: {}", st.settings.id, saved.error().message);
  crash_point("sandbox.create.after_record");
  flatbuffers::FlatBufferBuilder fbb(512);
  auto created = bp::CreateSandboxCreated(fbb, build_sandbox_info(fbb, record_of(st)), pool_hit);
  bp::FinishReplyBuffer(
      fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::SandboxCreated, created.Union()));
  publish(self, reply_to, bp::finish(fbb));
  drain_outbox_soon(self);
  // Made durable after the reply: the fsync is off the create's path, and a
  // crash before it loses the record of a sandbox that dies with the daemon
  // anyway (daemon/recovery.h).
  if (auto synced = st.ctx->store->sync(); !synced)
    logger("sandbox")->error("{}: cannot sync its record: {}", st.settings.id, synced.error().message);
}

}  // namespace

caf::behavior sandbox_actor(Self* self, std::shared_ptr<NodeContext> ctx, caf::actor node, SandboxSettings settings,
                            SandboxHandle handle) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.node = std::move(node);
  st.settings = std::move(settings);
  st.handle = std::move(handle);
  st.created_unix_ms = st.handle.created_unix_ms ? st.handle.created_unix_ms : unix_ms_now();
  st.metrics = MetricsRing(st.ctx->settings.metrics_keep);
  st.cgroup = st.ctx->cgroups->open(st.settings.id);
  // An exit message (node shutdown) ends the sandbox before the actor goes.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    end(self, end_reason::node_shutdown);
    self->quit(msg.reason);
  });
  return {
      [=](start_atom, const std::string& reply_to, const std::string& request_id, bool pool_hit) {
        start(self, reply_to, request_id, pool_hit);
      },
      [=](bus_atom, const bus::Message& m) { on_bus(self, m); },
      [=](agent_atom, const std::string& frames) { on_agent_frames(self, frames); },
      [=](agent_eof_atom) { end(self, end_reason::agent_died); },
      [=](agent_broken_atom, const std::string& why) {
        logger("sandbox")->error("{}: its agent sent {}; ending it", self->state.settings.id, why);
        end(self, end_reason::agent_broken);
      },
      [=](expire_atom, uint64_t generation) {
        auto& s = self->state;
        if (generation != s.timer_generation || s.state != bp::SandboxState::Running) return;
        if (self->clock().now() < s.expires_at) return check_expiry_after(self, generation);
        if (s.settings.auto_pause)
          pause(self, "timeout");
        else
          end(self, end_reason::timeout);
      },
      [=](sample_atom) { sample(self); },
      [=](stop_atom, const std::string& reason) { end(self, reason); },
  };
}

}  // namespace soulbox::actors
