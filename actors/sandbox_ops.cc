#include "actors/sandbox_ops.h"

#include <algorithm>

#include "messages/sandbox_op_names.h"

namespace soulbox::actors {
namespace bp = busproto;

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

}  // namespace soulbox::actors
