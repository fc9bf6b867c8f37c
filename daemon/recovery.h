// What a restart finds. soulboxd's sandboxes do not outlive it: when the
// daemon dies its launcher sees EOF and destroys every sandbox (processes,
// cgroups, scratch dirs); if the launcher was killed too, the agents die with
// it (PR_SET_PDEATHSIG) and the next launcher's Runtime::open removes what
// they left. So recovery is a clean kill, not a re-adoption: records still
// marked live are closed with reason "node restart", and RocksDB again
// matches reality. Then the quota those sandboxes spent goes back to their
// tenants, each give-back audited like an end, so the tenants' usage (and an
// audit replay of it) matches reality too.
#pragma once
#include <cstddef>
#include <string>

#include "audit/audit_log.h"
#include "common/result.h"
#include "storage/store.h"
#include "tenants/tenant_service.h"

namespace soulbox::daemon {

// Marks every record that is not Terminated as Terminated ("node restart");
// returns how many it closed.
Result<size_t> close_orphaned_records(storage::Store& store);

// For every terminated record still holding quota (closed above, or ended
// while the bus was down): gives it back, appends a `sandbox.end` audit
// event carrying it, and clears it from the record. Returns how many; one
// that cannot be given back now stays for the next start.
Result<size_t> give_back_quotas(storage::Store& store, tenants::TenantService& tenants, audit::AuditLog& audit,
                                const std::string& node_id);

}  // namespace soulbox::daemon
