// What a restart finds. soulboxd's sandboxes do not outlive it: when the
// daemon dies its launcher sees EOF and destroys every sandbox (processes,
// cgroups, scratch dirs); if the launcher was killed too, the agents die with
// it (PR_SET_PDEATHSIG) and the next launcher's Runtime::open removes what
// they left. So recovery is a clean kill, not a re-adoption: records still
// marked live are closed with reason "node restart", each with its
// `sandbox.end` audit event in the same batch (the audit outbox), and
// RocksDB again matches reality. Then the quota those sandboxes held goes
// back to their tenants, exactly once: a give-back a crash interrupted is
// looked up on the tenant's usage history before it is made again. So the
// tenants' usage, and an audit replay of it, match reality too.
#pragma once
#include <cstddef>
#include <string>

#include "common/result.h"
#include "storage/store.h"
#include "tenants/tenant_service.h"

namespace soulbox::daemon {

// Marks every record that is not Terminated as Terminated ("node restart"),
// with its end event (carrying the quota it holds) in the audit outbox;
// returns how many it closed.
Result<size_t> close_orphaned_records(storage::Store& store, const std::string& node_id);

// For every quota intent a crash left (a create that spent, or was about
// to spend, and made no sandbox record: actors/quota_intent.h): if the
// spend happened, gives it back unless that happened too, and records the
// failed create with its audit event (in the outbox) as the intent goes.
// Returns how many creates it undid.
Result<size_t> settle_quota_intents(storage::Store& store, tenants::TenantService& tenants, const std::string& node_id);

// For every terminated record still holding quota (closed above, or ended
// while the bus was down, or by a crash in the middle of the give-back):
// gives it back unless the tenant's usage history shows it was, and clears
// it from the record. Returns how many it gave back now; one that cannot be
// given back now stays for the next start.
Result<size_t> give_back_quotas(storage::Store& store, tenants::TenantService& tenants);

}  // namespace soulbox::daemon
