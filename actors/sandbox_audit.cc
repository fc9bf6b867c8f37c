#include "actors/sandbox_audit.h"

#include "actors/audit_actor.h"

namespace soulbox::actors {

audit::Event sandbox_event(SandboxSelf* self, const std::string& action, const std::string& result,
                           const std::string& principal, const std::string& path, const nlohmann::json& details) {
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

void audit_event(SandboxSelf* self, const std::string& action, const std::string& result, const std::string& principal,
                 const std::string& path, const nlohmann::json& details) {
  if (!self->state.ctx->audit) return;
  self->send(self->state.ctx->audit, audit_atom::value, sandbox_event(self, action, result, principal, path, details));
}

}  // namespace soulbox::actors
