#include "daemon/recovery.h"

#include "actors/quota_intent.h"
#include "actors/sandbox_actor.h"
#include "actors/sandbox_record.h"
#include "audit/audit_outbox.h"
#include "common/log.h"
#include "tenants/ask_json.h"

namespace soulbox::daemon {
namespace {

audit::Event end_event(const actors::SandboxRecord& r, const std::string& node_id) {
  audit::Event e;
  e.unix_ms = unix_ms_now();
  e.id = node_id + "-recovery-" + r.id;
  e.tenant = r.tenant;
  e.principal = "system";
  e.action = "sandbox.end";
  e.resource = "sandbox/" + r.id;
  e.result = "ok";
  e.source = node_id;
  nlohmann::json details{{"reason", r.end_reason}};
  if (r.quota_ask) details["quota_ask"] = tenants::ask_json(*r.quota_ask);
  e.details = details.dump();
  return e;
}

}  // namespace

Result<size_t> close_orphaned_records(storage::Store& store, const std::string& node_id) {
  auto records = actors::load_records(store);
  if (!records) return records.error();
  size_t closed = 0;
  for (auto& r : *records) {
    if (r.state == busproto::SandboxState::Terminated) continue;
    r.state = busproto::SandboxState::Terminated;
    r.end_reason = actors::end_reason::node_restart;
    r.ended_unix_ms = unix_ms_now();
    r.expires_unix_ms = 0;
    if (auto saved = actors::save_record(store, r, {audit::outbox_write(end_event(r, node_id))}); !saved)
      return saved.error();
    ++closed;
  }
  return closed;
}

Result<size_t> settle_quota_intents(storage::Store& store, tenants::TenantService& tenants,
                                    const std::string& node_id) {
  auto intents = actors::load_intents(store);
  if (!intents) return intents.error();
  size_t undone = 0;
  for (const auto& intent : *intents) {
    auto spent = tenants.usage_changed(intent.tenant, intent.change, intent.after_seq);
    if (!spent) return spent.error();
    if (!*spent) {
      if (auto gone = store.write({actors::intent_delete(intent.change)}, /*sync=*/true); !gone) return gone.error();
      continue;
    }
    const std::string undo = actors::quota_undo_change(intent.change);
    auto given = tenants.usage_changed(intent.tenant, undo, intent.after_seq);
    if (!given) return given.error();
    if (!*given)
      if (auto released = tenants.release(intent.tenant, intent.ask, undo); !released) return released.error();
    auto recorded = store.write({actors::intent_delete(intent.change),
                                 audit::outbox_write(actors::failed_create_event(intent, node_id, "node restart"))},
                                /*sync=*/true);
    if (!recorded) return recorded.error();
    ++undone;
  }
  return undone;
}

Result<size_t> give_back_quotas(storage::Store& store, tenants::TenantService& tenants) {
  auto records = actors::load_records(store);
  if (!records) return records.error();
  size_t given = 0;
  for (auto& r : *records) {
    if (r.state != busproto::SandboxState::Terminated || !r.quota_ask) continue;
    const std::string change = actors::quota_release_change(r.id);
    auto done = tenants.usage_changed(r.tenant, change, r.quota_seq);
    Status released = done ? Status() : Status(done.error());
    if (done && !*done) released = tenants.release(r.tenant, *r.quota_ask, change);
    if (!released) {
      logger("soulboxd")->warn("{}: quota of '{}' not given back yet: {}", r.id, r.tenant, released.error().message);
      continue;
    }
    if (done && !*done) ++given;
    r.quota_ask.reset();
    if (auto saved = actors::save_record(store, r); !saved) return saved.error();
  }
  return given;
}

}  // namespace soulbox::daemon
