#include "tenants/tenant_record.h"

#include <nlohmann/json.hpp>

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

Quota quota_of(const json& q) {
  Quota quota;
  quota.max_concurrent = q.value("max_concurrent", 0u);
  quota.max_total = q.value("max_total", uint64_t(0));
  quota.max_cpus = q.value("max_cpus", 0.0);
  quota.max_memory_bytes = q.value("max_memory_bytes", uint64_t(0));
  quota.max_storage_bytes = q.value("max_storage_bytes", uint64_t(0));
  return quota;
}

json policy_json(const AuditPolicy& p) {
  return {{"retention_s", p.retention_s}, {"redact", p.redact}};
}

AuditPolicy policy_of(const json& j) {
  return AuditPolicy{j.value("retention_s", uint64_t(0)), j.value("redact", false)};
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

RoleSet roles_from(const json& j) {
  RoleSet roles;
  if (!j.is_object()) return roles;
  for (auto it = j.begin(); it != j.end(); ++it) {
    Role role{it.key(), it.value().value("parents", std::vector<std::string>{}), {}};
    for (const auto& text : it.value().value("permissions", std::vector<std::string>{}))
      if (auto p = parse_permission(text)) role.permissions.push_back(*p);
    roles[role.name] = std::move(role);
  }
  return roles;
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

Result<TenantRecord> decode_tenant(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name"))
    return Error{ErrorCode::protocol_error, "not a tenant record"};
  TenantRecord t;
  t.name = j.value("name", "");
  t.quota = quota_of(j.value("quota", json::object()));
  t.audit_policy = policy_of(j.value("audit_policy", json::object()));
  t.roles = roles_from(j.value("roles", json::object()));
  const auto secrets = j.find("secrets");
  if (secrets != j.end() && secrets->is_object())
    for (auto it = secrets->begin(); it != secrets->end(); ++it)
      if (it.value().is_string()) t.secrets[it.key()] = it.value().get<std::string>();
  const auto keys = j.find("keys");
  if (keys != j.end() && keys->is_object())
    for (auto it = keys->begin(); it != keys->end(); ++it) {
      const json& k = it.value();
      t.keys[it.key()] = KeyRecord{k.value("hash", ""), k.value("roles", std::vector<std::string>{}),
                                   k.value("expires_ms", int64_t(0)), k.value("revoked", false)};
    }
  return t;
}

std::string encode_usage(const Usage& u) {
  return json{{"running", u.running},
              {"created_total", u.created_total},
              {"cpus", u.cpus},
              {"memory_bytes", u.memory_bytes},
              {"storage_bytes", u.storage_bytes}}
      .dump();
}

Result<Usage> decode_usage(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{ErrorCode::protocol_error, "not a usage record"};
  Usage u;
  u.running = j.value("running", 0u);
  u.created_total = j.value("created_total", uint64_t(0));
  u.cpus = j.value("cpus", 0.0);
  u.memory_bytes = j.value("memory_bytes", uint64_t(0));
  u.storage_bytes = j.value("storage_bytes", uint64_t(0));
  return u;
}

}  // namespace soulbox::tenants
