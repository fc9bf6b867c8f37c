#include "daemon/recovery.h"

#include "actors/sandbox_actor.h"
#include "actors/sandbox_record.h"
#include "common/log.h"
#include "tenants/ask_json.h"

namespace soulbox::daemon {

Result<size_t> close_orphaned_records(storage::Store& store) {
  auto records = actors::load_records(store);
  if (!records) return records.error();
  size_t closed = 0;
  for (auto& r : *records) {
    if (r.state == busproto::SandboxState::Terminated) continue;
    r.state = busproto::SandboxState::Terminated;
    r.end_reason = actors::end_reason::node_restart;
    r.expires_unix_ms = 0;
    if (auto saved = actors::save_record(store, r); !saved) return saved.error();
    ++closed;
  }
  return closed;
}

Result<size_t> give_back_quotas(storage::Store& store, tenants::TenantService& tenants, audit::AuditLog& audit,
                                const std::string& node_id) {
  auto records = actors::load_records(store);
  if (!records) return records.error();
  size_t given = 0;
  for (auto& r : *records) {
    if (r.state != busproto::SandboxState::Terminated || !r.quota_ask) continue;
    if (auto released = tenants.release(r.tenant, *r.quota_ask); !released) {
      logger("soulboxd")->warn("{}: quota of '{}' not given back yet: {}", r.id, r.tenant, released.error().message);
      continue;
    }
    audit::Event e;
    e.unix_ms = actors::unix_ms_now();
    e.id = node_id + "-recovery-" + r.id;
    e.tenant = r.tenant;
    e.principal = "system";
    e.action = "sandbox.end";
    e.resource = "sandbox/" + r.id;
    e.result = "ok";
    e.source = node_id;
    e.details = nlohmann::json{{"reason", r.end_reason}, {"quota_ask", tenants::ask_json(*r.quota_ask)}}.dump();
    if (auto appended = audit.append(e); !appended) return appended.error();
    r.quota_ask.reset();
    if (auto saved = actors::save_record(store, r); !saved) return saved.error();
    ++given;
  }
  return given;
}

}  // namespace soulbox::daemon
