#include "actors/sandbox_requests.h"

#include <sys/socket.h>

#include <cerrno>

#include "actors/agent_forward.h"
#include "actors/sandbox_audit.h"
#include "actors/sandbox_bus.h"
#include "bus/subjects.h"
#include "messages/agent_protocol.h"

namespace soulbox::actors {
namespace ap = agentproto;
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

bool check_events_token(SandboxSelf* self, const bus::Message& m, const std::string& request_id,
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

// The sandbox's env plus the tenant secrets this process asked for (each
// read audited by name; values never leave the env).
Result<std::vector<std::string>> process_env(SandboxSelf* self, const bp::ExecStart& exec,
                                             const std::string& principal) {
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

}  // namespace

Status send_frame(SandboxSelf* self, const std::string& frame) {
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

void call_agent(SandboxSelf* self, const std::string& frame, uint64_t id, PendingCall call) {
  if (auto sent = send_frame(self, frame); !sent) {
    const bool refused = sent.error().code == ErrorCode::invalid_argument;
    reply_error(self, call.reply_to, call.request_id, sent.error().code,
                refused ? sent.error().message : "the sandbox's agent is not reachable: " + sent.error().message);
    return;
  }
  self->state.pending.emplace(id, std::move(call));
}

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

void on_exec(SandboxSelf* self, const OpRequest& r) {
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
void on_code(SandboxSelf* self, const OpRequest& r) {
  const auto* code = r.envelope.body_as_CodeExecute();
  PendingCall call = call_for(r);
  if (!check_events_token(self, r.message, r.request_id, code->events_token(), &call.events_subject)) return;
  const uint64_t id = self->state.next_frame_id++;
  call_agent(self, code_run_frame(id, *code->run(), self->state.settings.env), id, std::move(call));
}

void on_watch(SandboxSelf* self, const OpRequest& r) {
  const auto* open = r.envelope.body_as_WatchOpen();
  PendingCall call = call_for(r);
  if (!check_events_token(self, r.message, r.request_id, open->events_token(), &call.events_subject)) return;
  const uint64_t id = self->state.next_frame_id++;
  call_agent(self, watch_start_frame(id, *open->watch()), id, std::move(call));
}

// Adds a listener to a running process's stream (E2B's process Connect):
// it sees what the process writes from now on, and its end.
void on_attach(SandboxSelf* self, const OpRequest& r) {
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

void on_forwarded(SandboxSelf* self, const OpRequest& r) {
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

}  // namespace soulbox::actors
