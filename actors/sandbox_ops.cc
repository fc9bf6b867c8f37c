#include "actors/sandbox_ops.h"

#include <algorithm>

#include "actors/sandbox_audit.h"
#include "actors/sandbox_bus.h"
#include "actors/sandbox_lifecycle.h"
#include "actors/sandbox_metrics.h"
#include "actors/sandbox_requests.h"
#include "actors/sandbox_uploads.h"
#include "bus/subjects.h"
#include "messages/sandbox_op_names.h"

namespace soulbox::actors {
namespace bp = busproto;
namespace subjects = bus::subjects;

const std::vector<SandboxOp>& sandbox_ops() {
  using B = bp::Body;
  using R = tenants::Resource;
  using A = tenants::Action;
  using K = PendingCall::Kind;
  constexpr std::nullopt_t by_actor = std::nullopt;  // no agent call: the actor answers
  namespace op = bp::op;
  // One row per op, in columns.
  // clang-format off
  static const std::vector<SandboxOp> table = {
      // name             body                resource    action      kind        audit action     handler
      {op::info,          B::NONE,            R::sandbox, A::read,    by_actor,   "",              on_info},
      {op::metrics,       B::MetricsQuery,    R::sandbox, A::read,    by_actor,   "",              on_metrics_query},
      {op::kill,          B::NONE,            R::sandbox, A::delete_, by_actor,   "",              on_kill},
      {op::pause,         B::NONE,            R::sandbox, A::update,  by_actor,   "",              on_pause},
      {op::resume,        B::NONE,            R::sandbox, A::update,  by_actor,   "",              on_resume},
      {op::timeout,       B::SetTimeout,      R::sandbox, A::update,  by_actor,   "",              on_timeout},
      {op::exec,          B::ExecStart,       R::sandbox, A::execute, K::exec,    "process.start", on_exec},
      {op::attach,        B::ExecAttach,      R::sandbox, A::execute, K::exec,    "",              on_attach},
      {op::stdin_,        B::ProcInput,       R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::signal,        B::ProcSignal,      R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::resize,        B::ProcResize,      R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::ps,            B::ProcList,        R::sandbox, A::read,    K::reply,   "",              on_forwarded},
      {op::output,        B::ProcOutputQuery, R::sandbox, A::read,    K::reply,   "",              on_forwarded},
      {op::killall,       B::KillAll,         R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::read,          B::FileRead,        R::file,    A::read,    K::read,    "file.read",     on_forwarded},
      {op::ls,            B::FileList,        R::file,    A::read,    K::reply,   "",              on_forwarded},
      {op::stat,          B::FileStat,        R::file,    A::read,    K::reply,   "",              on_forwarded},
      {op::watch,         B::WatchOpen,       R::file,    A::read,    K::watch,   "",              on_watch},
      {op::unwatch,       B::WatchStop,       R::file,    A::read,    K::unwatch, "",              on_forwarded},
      {op::write,         B::FileWrite,       R::file,    A::create,  K::reply,   "file.write",    on_forwarded},
      {op::upload,        B::FileUpload,      R::file,    A::create,  K::reply,   "file.write",    on_upload},
      {op::mkdir,         B::MakeDir,         R::file,    A::create,  K::reply,   "file.mkdir",    on_forwarded},
      {op::mv,            B::Rename,          R::file,    A::update,  K::reply,   "file.rename",   on_forwarded},
      {op::rm,            B::Remove,          R::file,    A::delete_, K::reply,   "file.delete",   on_forwarded},
      {op::code,          B::CodeExecute,     R::sandbox, A::execute, K::code,    "code.run",      on_code},
      {op::ctx_list,      B::CtxList,         R::sandbox, A::read,    K::reply,   "",              on_forwarded},
      {op::ctx_create,    B::CtxCreate,       R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::ctx_restart,   B::CtxRestart,      R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::ctx_remove,    B::CtxRemove,       R::sandbox, A::execute, K::reply,   "",              on_forwarded},
      {op::ctx_interrupt, B::CtxInterrupt,    R::sandbox, A::execute, K::reply,   "",              on_forwarded},
  };
  // clang-format on
  return table;
}

const SandboxOp* find_sandbox_op(std::string_view name) {
  const auto& ops = sandbox_ops();
  auto it = std::find_if(ops.begin(), ops.end(), [&](const SandboxOp& op) { return name == op.name; });
  return it == ops.end() ? nullptr : &*it;
}

std::pair<tenants::Resource, tenants::Action> permission_for(const SandboxOp* op) {
  return op ? std::make_pair(op->resource, op->action)
            : std::make_pair(tenants::Resource::system, tenants::Action::admin);
}

void on_bus_request(SandboxSelf* self, const bus::Message& m) {
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

}  // namespace soulbox::actors
