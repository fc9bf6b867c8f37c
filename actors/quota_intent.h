// Quota that a create spends on the tenant's usage record (SB_EVENTS)
// before its sandbox exists. The spend is a remote write and the sandbox
// record a local one, so no batch holds both: the node first writes an
// intent (storage family quota_intents) naming the change it is about to
// make, then spends, tagged with that change. The batch that writes the
// sandbox record (with its create event) deletes the intent; so does the
// batch that records a failed create after the quota went back. An intent
// a crash left is settled at the next start (daemon/recovery.h): the
// tenant's usage history says whether the spend, and its undo, happened.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "audit/audit_chain.h"
#include "common/result.h"
#include "storage/store.h"
#include "tenants/quota.h"

namespace soulbox::actors {

struct QuotaIntent {
  std::string change;  // the spend's tag: quota_spend_change()
  std::string tenant, principal;
  tenants::SandboxAsk ask;
  uint64_t after_seq = 0;  // the usage record the spend is made on
};

// Tags of usage changes (TenantService::spend/release `change`).
std::string quota_spend_change(const std::string& tenant, const std::string& request_id);
std::string quota_undo_change(const std::string& spend_change);   // a failed create's give-back
std::string quota_release_change(const std::string& sandbox_id);  // a sandbox's end

storage::Write intent_write(const QuotaIntent& intent);
storage::Write intent_delete(const std::string& change);
// Unreadable intents are logged and skipped (they stay for an operator).
Result<std::vector<QuotaIntent>> load_intents(storage::Store& store);

// The audit event of a create that spent quota and gave it back (replay
// counts it in created_total, as the live usage does).
audit::Event failed_create_event(const QuotaIntent& intent, const std::string& node_id, const std::string& why);

}  // namespace soulbox::actors
