#include "tenants/audit_replay.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <tuple>

#include "tenants/ask_json.h"

namespace soulbox::tenants {
namespace {
using json = nlohmann::json;

// "key/<id>" -> "<id>"; "sandbox/<id>[:path]" -> "<id>".
std::string id_of(const std::string& resource) {
  const auto slash = resource.find('/');
  if (slash == std::string::npos) return resource;
  const std::string rest = resource.substr(slash + 1);
  return rest.substr(0, rest.find(':'));
}

void fold_sandbox(ReplayedTenant& t, const audit::Event& e, const json& details) {
  const auto ask = details.find("quota_ask");
  if (ask == details.end() || !ask->is_object()) return;  // spent nothing
  const SandboxAsk a = ask_from_json(*ask);
  // Signed sums: nodes' logs interleave on the stream in publishing order,
  // so an end may come before its create; the totals still agree.
  const int sign = e.action == "sandbox.create" ? 1 : -1;
  if (e.action == "sandbox.create") {
    ++t.signed_usage.created;
    if (e.result != "ok") return;  // spent and given back: counted as created only
    t.open_spans[id_of(e.resource)] = t.spans.size();
    t.spans.push_back(SandboxSpan{e.unix_ms, 0, a.cpus, a.memory_bytes});
  } else if (auto open = t.open_spans.find(id_of(e.resource)); open != t.open_spans.end()) {
    t.spans[open->second].end_ms = e.unix_ms;
    t.open_spans.erase(open);
  }
  t.signed_usage.running += sign;
  t.signed_usage.cpus += sign * a.cpus;
  t.signed_usage.memory_bytes += sign * int64_t(a.memory_bytes);
  t.signed_usage.storage_bytes += sign * int64_t(a.disk_bytes);
}

Status fold_tenant(ReplayedTenant& t, const audit::Event& e, const json& details) {
  if (e.action == "tenant.upsert") {
    auto quota = decode_quota(details.value("quota", json::object()).dump());
    if (!quota) return quota.error();
    auto policy = decode_policy(details.value("audit_policy", json::object()).dump());
    if (!policy) return policy.error();
    t.has_record = true;
    t.quota = *quota;
    t.audit_policy = *policy;
  } else if (e.action == "key.create") {
    t.keys[id_of(e.resource)] = ReplayedKey{details.value("roles", std::vector<std::string>{}),
                                            details.value("expires_unix_ms", int64_t(0)), false};
  } else if (e.action == "key.revoke") {
    auto it = t.keys.find(id_of(e.resource));
    if (it == t.keys.end()) return Error{ErrorCode::not_found, "revokes a key never created"};
    it->second.revoked = true;
  } else if (e.action == "role.set") {
    Role role{id_of(e.resource), details.value("parents", std::vector<std::string>{}), {}};
    for (const auto& text : details.value("permissions", std::vector<std::string>{})) {
      auto p = parse_permission(text);
      if (!p) return p.error();
      role.permissions.push_back(*p);
    }
    t.roles[role.name] = std::move(role);
  } else if (e.action == "permission.grant" || e.action == "permission.revoke") {
    auto it = t.keys.find(id_of(e.resource));
    if (it == t.keys.end()) return Error{ErrorCode::not_found, "changes the roles of a key never created"};
    it->second.roles = details.value("roles", std::vector<std::string>{});
  } else if (e.action == "secret.set") {
    const std::string prefix = "secret/" + e.tenant + "/";
    if (e.resource.rfind(prefix, 0) != 0) return Error{ErrorCode::invalid_argument, "secret resource " + e.resource};
    t.secrets.insert(e.resource.substr(prefix.size()));
  }
  return {};
}

bool is_tenant_change(const std::string& action) {
  return action == "tenant.upsert" || action == "key.create" || action == "key.revoke" || action == "secret.set" ||
         action == "role.set" || action == "permission.grant" || action == "permission.revoke";
}

}  // namespace

namespace {

// Folds one event that changes state; a problem when it cannot be applied.
void apply_one(ReplayState& state, const audit::Event& e, const json& details) {
  ReplayedTenant& t = state.tenants[e.tenant];
  if (e.action == "sandbox.create" || e.action == "sandbox.end" || e.action == "sandbox.kill") {
    fold_sandbox(t, e, details);
  } else if (auto folded = fold_tenant(t, e, details); !folded) {
    state.problems.push_back(e.id + " (" + e.action + "): " + folded.error().message);
    return;
  }
  ++state.applied;
}

Usage settled(const std::string& tenant, const SignedUsage& s, std::vector<std::string>& problems) {
  if (s.running < 0 || s.memory_bytes < 0 || s.storage_bytes < 0 || s.cpus < -1e-6)
    problems.push_back("tenant '" + tenant + "': more quota given back than spent");
  Usage u;
  u.running = uint32_t(std::max<int64_t>(0, s.running));
  u.created_total = uint64_t(std::max<int64_t>(0, s.created));
  u.cpus = std::max(0.0, s.cpus);
  u.memory_bytes = uint64_t(std::max<int64_t>(0, s.memory_bytes));
  u.storage_bytes = uint64_t(std::max<int64_t>(0, s.storage_bytes));
  return u;
}

}  // namespace

ReplayState replay(const std::vector<audit::Event>& events) {
  ReplayState state;
  // Tenant changes are applied in their order on SB_EVENTS (events_seq in
  // their details), which is the order they happened in whichever node
  // made them; usage sums do not depend on order.
  std::vector<std::tuple<uint64_t, size_t, json>> changes;
  for (const auto& e : events) {
    ++state.events;
    const bool sandbox = e.action == "sandbox.create" || e.action == "sandbox.end" || e.action == "sandbox.kill";
    if (!sandbox && !is_tenant_change(e.action)) continue;  // reads, logins, denials change nothing
    if ((!sandbox && e.result != "ok") || e.tenant.empty()) continue;
    json details = json::parse(e.details.empty() ? "{}" : e.details, nullptr, false);
    if (details.is_discarded() || !details.is_object()) {
      state.problems.push_back(e.id + ": details are not a JSON object");
      continue;
    }
    if (sandbox)
      apply_one(state, e, details);
    else
      changes.emplace_back(details.value("events_seq", uint64_t(0)), &e - events.data(), std::move(details));
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (const auto& [seq, index, details] : changes) apply_one(state, events[index], details);
  for (auto& [name, t] : state.tenants) t.usage = settled(name, t.signed_usage, state.problems);
  return state;
}

std::vector<std::string> compare_with_live(const ReplayState& replayed, const std::map<std::string, TenantRecord>& live,
                                           const std::map<std::string, Usage>& live_usage) {
  std::vector<std::string> out;
  auto differ = [&](const std::string& tenant, const std::string& what, const std::string& r, const std::string& l) {
    if (r != l) out.push_back("tenant '" + tenant + "': " + what + ": replayed " + r + ", live " + l);
  };
  for (const auto& [name, t] : replayed.tenants) {
    auto it = live.find(name);
    if (t.has_record && it == live.end()) out.push_back("tenant '" + name + "': replayed, but no live record");
    if (it != live.end()) {
      const TenantRecord& l = it->second;
      differ(name, "quota", encode_quota(t.quota), encode_quota(l.quota));
      differ(name, "audit policy", encode_policy(t.audit_policy), encode_policy(l.audit_policy));
      differ(name, "roles", encode_roles(t.roles), encode_roles(l.roles));
      std::map<std::string, ReplayedKey> live_keys;
      for (const auto& [id, k] : l.keys) live_keys[id] = ReplayedKey{k.roles, k.expires_unix_ms, k.revoked};
      for (const auto& [id, k] : t.keys) {
        auto lk = live_keys.find(id);
        if (lk == live_keys.end()) {
          out.push_back("tenant '" + name + "': key " + id + " replayed, not live");
          continue;
        }
        differ(name, "key " + id + " revoked", k.revoked ? "yes" : "no", lk->second.revoked ? "yes" : "no");
        differ(name, "key " + id + " roles", json(k.roles).dump(), json(lk->second.roles).dump());
        differ(name, "key " + id + " expiry", std::to_string(k.expires_unix_ms),
               std::to_string(lk->second.expires_unix_ms));
      }
      for (const auto& [id, k] : live_keys)
        if (!t.keys.count(id)) out.push_back("tenant '" + name + "': key " + id + " live, never audited");
      std::set<std::string> live_secrets;
      for (const auto& [secret, sealed] : l.secrets) live_secrets.insert(secret);
      differ(name, "secrets", json(t.secrets).dump(), json(live_secrets).dump());
    }
    const auto lu = live_usage.find(name);
    const Usage u = lu == live_usage.end() ? Usage{} : lu->second;
    differ(name, "running", std::to_string(t.usage.running), std::to_string(u.running));
    differ(name, "created_total", std::to_string(t.usage.created_total), std::to_string(u.created_total));
    if (std::fabs(t.usage.cpus - u.cpus) > 1e-6)
      differ(name, "cpus", std::to_string(t.usage.cpus), std::to_string(u.cpus));
    differ(name, "memory_bytes", std::to_string(t.usage.memory_bytes), std::to_string(u.memory_bytes));
    differ(name, "storage_bytes", std::to_string(t.usage.storage_bytes), std::to_string(u.storage_bytes));
  }
  for (const auto& [name, record] : live)
    if (!replayed.tenants.count(name)) out.push_back("tenant '" + name + "': live, never audited");
  for (const auto& [name, u] : live_usage)
    if (!replayed.tenants.count(name) && (u.running || u.created_total))
      out.push_back("tenant '" + name + "': live usage, never audited");
  return out;
}

}  // namespace soulbox::tenants
