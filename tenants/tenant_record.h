// A tenant as the SB_EVENTS stream knows it: quota, API keys (hashes only),
// and its usage. Each change is published as the whole new record (JSON, so
// `nats stream view` and audits can read it); the newest event per subject
// is the state, and folding the stream from the start rebuilds it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "tenants/quota.h"
#include "tenants/rbac.h"

namespace soulbox::tenants {

struct KeyRecord {
  std::string secret_hash;
  std::vector<std::string> roles;
  int64_t expires_unix_ms = 0;  // 0: never
  bool revoked = false;
};

// What the audit log does with this tenant's events (docs/audit.md).
struct AuditPolicy {
  uint64_t retention_s = 0;  // 0: forever
  bool redact = false;       // pseudonyms in exports and queries
  bool operator==(const AuditPolicy& o) const { return retention_s == o.retention_s && redact == o.redact; }
};

struct TenantRecord {
  std::string name;
  Quota quota;
  AuditPolicy audit_policy;
  std::map<std::string, KeyRecord> keys;       // by key id
  std::map<std::string, std::string> secrets;  // name -> sealed value (tenants/secret_box.h)
  RoleSet roles;                               // the tenant's own roles (the built-in ones are not stored)
};

// The built-in roles and the tenant's own.
RoleSet roles_of(const TenantRecord& t);

std::string encode_tenant(const TenantRecord& t);
Result<TenantRecord> decode_tenant(const std::string& json);
std::string encode_roles(const RoleSet& roles);   // a JSON object: name -> {parents, permissions}
std::string encode_policy(const AuditPolicy& p);  // a JSON object
Result<AuditPolicy> decode_policy(const std::string& json);
std::string encode_quota(const Quota& q);  // a JSON object
Result<Quota> decode_quota(const std::string& json);
// `change` tags the record with what made it (TenantService::usage_changed).
std::string encode_usage(const Usage& u, const std::string& change = "");
Result<Usage> decode_usage(const std::string& json);
// The tag of a usage record ("" when it has none or cannot be read).
std::string usage_change_of(const std::string& json);

}  // namespace soulbox::tenants
