// Tenant state and usage rebuilt from audit events alone: the check that
// the event-sourced views (SB_EVENTS, folded by every node) say what the
// signed audit log says happened. `soulboxd audit replay` folds every node's
// events from SB_AUDIT and compares the result with the live state.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "audit/audit_chain.h"
#include "tenants/quota.h"
#include "tenants/tenant_record.h"

namespace soulbox::tenants {

struct ReplayedKey {
  std::vector<std::string> roles;
  int64_t expires_unix_ms = 0;
  bool revoked = false;
};

struct SignedUsage {  // sums over the log in any order
  int64_t running = 0, created = 0, memory_bytes = 0, storage_bytes = 0;
  double cpus = 0;
};

struct ReplayedTenant {
  bool has_record = false;  // a tenant.upsert was seen (else: usage only)
  Quota quota;
  AuditPolicy audit_policy;
  RoleSet roles;  // the tenant's own
  std::map<std::string, ReplayedKey> keys;
  std::set<std::string> secrets;  // names
  SignedUsage signed_usage;
  Usage usage;                               // settled from signed_usage at the end
  std::vector<SandboxSpan> spans;            // each sandbox that spent quota, for usage reports
  std::map<std::string, size_t> open_spans;  // sandbox id -> index in spans, until it ends
};

struct ReplayState {
  std::map<std::string, ReplayedTenant> tenants;
  size_t events = 0, applied = 0;
  std::vector<std::string> problems;  // events that could not be applied
};

// Folds every node's events (in stream order, nodes interleaved as they
// published) into tenant state and usage.
ReplayState replay(const std::vector<audit::Event>& events);

// The differences between the replayed state and the live one (empty: the
// same). Key hashes and sealed secret values are not in the audit log and
// are not compared; everything else is.
std::vector<std::string> compare_with_live(const ReplayState& replayed, const std::map<std::string, TenantRecord>& live,
                                           const std::map<std::string, Usage>& live_usage);

}  // namespace soulbox::tenants
