#include "tenants/tenant_record.h"

#include <nlohmann/json.hpp>

#include "common/json_fields.h"

namespace soulbox::tenants {
using json = nlohmann::json;

namespace {

json quota_json(const Quota& q) {
  return {{"max_concurrent", q.max_concurrent},
          {"max_total", q.max_total},
          {"max_cpus", q.max_cpus},
          {"max_memory_bytes", q.max_memory_bytes},
          {"max_storage_bytes", q.max_storage_bytes}};
}

Result<Quota> quota_of(const json& q) {
  Quota quota;
  JsonFields f(q, "quota");
  f.read("max_concurrent", quota.max_concurrent);
  f.read("max_total", quota.max_total);
  f.read("max_cpus", quota.max_cpus);
  f.read("max_memory_bytes", quota.max_memory_bytes);
  f.read("max_storage_bytes", quota.max_storage_bytes);
  if (!f.ok()) return f.status().error();
  return quota;
}

json policy_json(const AuditPolicy& p) {
  return {{"retention_s", p.retention_s}, {"redact", p.redact}};
}

Result<AuditPolicy> policy_of(const json& j) {
  AuditPolicy policy;
  JsonFields f(j, "audit policy");
  f.read("retention_s", policy.retention_s);
  f.read("redact", policy.redact);
  if (!f.ok()) return f.status().error();
  return policy;
}

json roles_json(const RoleSet& roles) {
  json out = json::object();
  for (const auto& [name, role] : roles) {
    std::vector<std::string> permissions;
    for (const auto& p : role.permissions) permissions.push_back(permission_string(p));
    out[name] = {{"parents", role.parents}, {"permissions", permissions}};
  }
  return out;
}

Result<RoleSet> roles_from(const json& j) {
  RoleSet roles;
  for (auto it = j.begin(); it != j.end(); ++it) {
    Role role{it.key(), {}, {}};
    std::vector<std::string> permissions;
    JsonFields f(it.value(), "role '" + it.key() + "'");
    f.read("parents", role.parents);
    f.read("permissions", permissions);
    if (!f.ok()) return f.status().error();
    for (const auto& text : permissions)
      if (auto p = parse_permission(text)) role.permissions.push_back(*p);
    roles[role.name] = std::move(role);
  }
  return roles;
}

Result<KeyRecord> key_of(const std::string& id, const json& k) {
  KeyRecord key;
  JsonFields f(k, "key '" + id + "'");
  f.read("hash", key.secret_hash);
  f.read("roles", key.roles);
  f.read("expires_ms", key.expires_unix_ms);
  f.read("revoked", key.revoked);
  if (!f.ok()) return f.status().error();
  return key;
}

Result<json> json_object(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{ErrorCode::protocol_error, "not " + what};
  return j;
}

}  // namespace

RoleSet roles_of(const TenantRecord& t) {
  RoleSet all = builtin_roles();
  for (const auto& [name, role] : t.roles) all[name] = role;
  return all;
}

std::string encode_roles(const RoleSet& roles) {
  return roles_json(roles).dump();
}

std::string encode_policy(const AuditPolicy& p) {
  return policy_json(p).dump();
}

Result<AuditPolicy> decode_policy(const std::string& text) {
  auto j = json_object(text, "an audit policy");
  if (!j) return j.error();
  return policy_of(*j);
}

std::string encode_quota(const Quota& q) {
  return quota_json(q).dump();
}

Result<Quota> decode_quota(const std::string& text) {
  auto j = json_object(text, "a quota");
  if (!j) return j.error();
  return quota_of(*j);
}

std::string encode_tenant(const TenantRecord& t) {
  json keys = json::object();
  for (const auto& [id, k] : t.keys)
    keys[id] = {{"hash", k.secret_hash}, {"roles", k.roles}, {"expires_ms", k.expires_unix_ms}, {"revoked", k.revoked}};
  return json{{"v", 1},
              {"name", t.name},
              {"quota", quota_json(t.quota)},
              {"audit_policy", policy_json(t.audit_policy)},
              {"keys", keys},
              {"roles", roles_json(t.roles)},
              {"secrets", t.secrets}}
      .dump();
}

// Every field is type-checked: a record of the wrong shape is an error, never
// an exception (records come from a stream anyone with publish rights could
// write, and are replayed at every start).
Result<TenantRecord> decode_tenant(const std::string& text) {
  auto j = json_object(text, "a tenant record");
  if (!j) return j.error();
  TenantRecord t;
  JsonFields f(*j, "tenant record");
  f.read("name", t.name);
  const json* quota = f.object("quota");
  const json* policy = f.object("audit_policy");
  const json* roles = f.object("roles");
  const json* secrets = f.object("secrets");
  const json* keys = f.object("keys");
  if (!f.ok()) return f.status().error();
  if (t.name.empty()) return Error{ErrorCode::protocol_error, "tenant record: 'name' must be a non-empty string"};
  if (quota) {
    auto q = quota_of(*quota);
    if (!q) return q.error();
    t.quota = *q;
  }
  if (policy) {
    auto p = policy_of(*policy);
    if (!p) return p.error();
    t.audit_policy = *p;
  }
  if (roles) {
    auto r = roles_from(*roles);
    if (!r) return r.error();
    t.roles = std::move(*r);
  }
  if (secrets)
    for (auto it = secrets->begin(); it != secrets->end(); ++it) {
      if (!it.value().is_string())
        return Error{ErrorCode::protocol_error, "tenant record: secret '" + it.key() + "' must be a string"};
      t.secrets[it.key()] = it.value().get<std::string>();
    }
  if (keys)
    for (auto it = keys->begin(); it != keys->end(); ++it) {
      auto key = key_of(it.key(), it.value());
      if (!key) return key.error();
      t.keys[it.key()] = std::move(*key);
    }
  return t;
}

std::string encode_usage(const Usage& u, const std::string& change) {
  json j{{"running", u.running},
         {"created_total", u.created_total},
         {"cpus", u.cpus},
         {"memory_bytes", u.memory_bytes},
         {"storage_bytes", u.storage_bytes}};
  if (!change.empty()) j["change"] = change;
  return j.dump();
}

std::string usage_change_of(const std::string& text) {
  auto j = json_object(text, "a usage record");
  if (!j) return "";
  std::string change;
  JsonFields f(*j, "usage record");
  f.read("change", change);
  return f.ok() ? change : "";
}

Result<Usage> decode_usage(const std::string& text) {
  auto j = json_object(text, "a usage record");
  if (!j) return j.error();
  Usage u;
  JsonFields f(*j, "usage record");
  f.read("running", u.running);
  f.read("created_total", u.created_total);
  f.read("cpus", u.cpus);
  f.read("memory_bytes", u.memory_bytes);
  f.read("storage_bytes", u.storage_bytes);
  if (!f.ok()) return f.status().error();
  return u;
}

}  // namespace soulbox::tenants
