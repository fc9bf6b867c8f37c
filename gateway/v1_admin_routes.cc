// SoulBox's administration over HTTP (/v1/tenants, /v1/nodes): tenants,
// keys, roles and usage through the tenant service, nodes and pools through
// the nodes. Only callers holding the `admin` role: for their own tenant,
// or for every tenant when their tenant is the system one ("default", whose
// admin key soulboxd prints at first start).
#include <nlohmann/json.hpp>

#include "bus/subjects.h"
#include "common/json_fields.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {
namespace bp = busproto;
using json = nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

std::vector<std::string> strings_of(const json& j, const char* field) {
  std::vector<std::string> out;
  for (const auto& v : j.value(field, json::array()))
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// A tenant-service request as `principal` (audited under that name).
Result<client::OwnedReply> tenant_call(client::Client& bus, const std::string& principal, const std::string& op,
                                       const client::Client::BodyBuilder& body) {
  return bus.as("", principal)->call(bus::subjects::tenant_op(op), body);
}

json usage_json(const bp::TenantUsage& u) {
  return {{"tenant", u.tenant() ? u.tenant()->str() : ""},
          {"running", u.running()},
          {"createdTotal", u.created_total()},
          {"cpus", u.cpus()},
          {"memoryBytes", u.memory_bytes()}};
}

}  // namespace

void E2bGateway::admin(const HttpRequest& req, ResponseWriter& out, const Caller& caller,
                       const std::vector<std::string>& s) {
  const bool admin = std::find(caller.roles.begin(), caller.roles.end(), "admin") != caller.roles.end();
  const bool system = admin && caller.tenant == options_.system_tenant;
  if (!admin) return send_error(out, 403, caller.principal + " is not an admin");
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return send_error(out, 400, "the body is not a JSON object");
  auto fail = [&](const Error& e) { send_error(out, e); };

  if (s[0] == "nodes") {  // GET /v1/nodes, GET /v1/nodes/{node}/pool
    if (!system) return send_error(out, 403, "nodes are for the system tenant's admins");
    if (s.size() == 1 && req.method == "GET") {
      json nodes = json::array();
      for (const auto& node : nodes_.nodes()) {
        auto h = bus_.health(node);
        if (!h) continue;
        nodes.push_back({{"node", h->node},
                         {"status", h->status},
                         {"version", h->version},
                         {"region", h->region},
                         {"sandboxes", h->sandboxes},
                         {"cpuCapacity", h->cpu_capacity},
                         {"cpuFree", h->cpu_free},
                         {"memoryCapacityBytes", h->memory_capacity_bytes},
                         {"memoryFreeBytes", h->memory_free_bytes},
                         {"memoryInUseBytes", h->memory_in_use_bytes},
                         {"newSandboxMemoryBytes", h->new_sandbox_memory_bytes},
                         {"cpusReserved", h->cpus_reserved}});
      }
      return out.send(200, kJson, json_text(nodes));
    }
    if (s.size() == 3 && s[2] == "pool" && req.method == "GET") {
      if (auto ok = bus::subjects::check_token("node", s[1]); !ok) return send_error(out, 404, "no node " + s[1]);
      auto stats = bus_.pool_stats(s[1]);
      if (!stats)
        return fail(stats.error().code == ErrorCode::unavailable ? Error{ErrorCode::not_found, "no node " + s[1]}
                                                                 : stats.error());
      json pools = json::array();
      for (const auto& p : *stats)
        pools.push_back({{"template", p.template_name},
                         {"strategy", p.strategy},
                         {"warm", p.warm},
                         {"minWarm", p.min_warm},
                         {"maxSize", p.max_size},
                         {"hits", p.hits},
                         {"misses", p.misses},
                         {"acquireP50Us", p.acquire_p50_us},
                         {"acquireP99Us", p.acquire_p99_us}});
      return out.send(200, kJson, json_text(pools));
    }
    return send_error(out, 404, "no route " + req.method + " " + req.path);
  }

  // /v1/tenants/{tenant}[/usage | /keys[/{key}] | /roles/{name}]
  if (s.size() < 2) return send_error(out, 404, "name a tenant: /v1/tenants/{tenant}");
  const std::string& tenant = s[1];
  if (auto ok = bus::subjects::check_token("tenant", tenant); !ok) return send_error(out, 400, ok.error().message);
  if (!system && tenant != caller.tenant) return send_error(out, 404, "tenant " + tenant + " not found");
  const std::string what = s.size() > 2 ? s[2] : "";

  if (what.empty() && req.method == "PUT") {  // create or change a tenant: system admins only
    if (!system) return send_error(out, 403, "only the system tenant's admins change tenants");
    for (const char* field :
         {"maxConcurrent", "maxTotal", "maxCpus", "maxMemoryBytes", "auditRetentionS", "maxStorageBytes"})
      if (body.contains(field) &&
          (!body[field].is_number() || body[field].get<double>() < 0 || body[field].get<double>() > 1e18))
        return send_error(out, 400, std::string(field) + " must be a number from 0 (unlimited) up");
    if (body.contains("maxConcurrent") && body["maxConcurrent"].get<double>() > 4294967295.0)
      return send_error(out, 400, "maxConcurrent is too large");
    bool audit_redact = false;
    JsonFields fields(body, "body");
    fields.read("auditRedact", audit_redact);
    if (!fields.ok()) return send_error(out, fields.status(ErrorCode::invalid_argument).error());
    auto r = tenant_call(bus_, caller.principal, "upsert", [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(
          bp::Body::TenantUpsert,
          bp::CreateTenantUpsert(fbb, fbb.CreateString(tenant), body.value("maxConcurrent", 0u),
                                 body.value("maxTotal", uint64_t(0)), body.value("maxCpus", 0.0f),
                                 body.value("maxMemoryBytes", uint64_t(0)), body.value("auditRetentionS", uint64_t(0)),
                                 audit_redact, body.value("maxStorageBytes", uint64_t(0)))
              .Union());
    });
    if (!r) return fail(r.error());
    return out.send(200, kJson, json_text(json{{"tenant", tenant}}));
  }
  if (what == "usage" && req.method == "GET") {
    auto r = tenant_call(bus_, caller.principal, "usage", [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(bp::Body::TenantUsage, bp::CreateTenantUsage(fbb, fbb.CreateString(tenant)).Union());
    });
    if (!r) return fail(r.error());
    return out.send(200, kJson, json_text(usage_json(*r->get().body_as_TenantUsage())));
  }
  if (what == "keys" && s.size() == 3 && req.method == "POST") {  // {roles, ttlS}: the key is shown this once
    const auto roles = strings_of(body, "roles");
    if (body.contains("ttlS") &&
        (!body["ttlS"].is_number_unsigned() || body["ttlS"].get<uint64_t>() > 10 * 365 * 86400ull))
      return send_error(out, 400, "ttlS must be a number of seconds (0: no expiry)");
    auto r = tenant_call(bus_, caller.principal, "key-create", [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(bp::Body::KeyCreate,
                            bp::CreateKeyCreate(fbb, fbb.CreateString(tenant), fbb.CreateVectorOfStrings(roles),
                                                body.value("ttlS", int64_t(0)) * 1000)
                                .Union());
    });
    if (!r) return fail(r.error());
    const auto* k = r->get().body_as_KeyCreated();
    return out.send(201, kJson, json_text(json{{"keyID", k->key_id()->str()}, {"key", k->token()->str()}}));
  }
  if (what == "keys" && s.size() == 3 && req.method == "GET") {
    auto r = tenant_call(bus_, caller.principal, "key-list", [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(bp::Body::KeyList, bp::CreateKeyList(fbb, fbb.CreateString(tenant)).Union());
    });
    if (!r) return fail(r.error());
    json keys = json::array();
    if (const auto* list = r->get().body_as_KeyListReply(); list && list->keys())
      for (const auto* k : *list->keys()) {
        std::vector<std::string> roles;
        if (k->roles())
          for (const auto* role : *k->roles()) roles.push_back(role->str());
        keys.push_back({{"keyID", k->key_id()->str()},
                        {"roles", roles},
                        {"expiresUnixMs", k->expires_unix_ms()},
                        {"revoked", k->revoked()},
                        {"lastUsedUnixMs", k->last_used_unix_ms()}});
      }
    return out.send(200, kJson, json_text(keys));
  }
  if (what == "keys" && s.size() == 4 && req.method == "DELETE") {
    auto r = tenant_call(bus_, caller.principal, "key-revoke", [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(bp::Body::KeyRevoke,
                            bp::CreateKeyRevoke(fbb, fbb.CreateString(tenant), fbb.CreateString(s[3])).Union());
    });
    if (!r) return fail(r.error());
    return out.send(204, "", "");
  }
  if (what == "roles" && s.size() == 4 && req.method == "PUT") {  // {parents, permissions}
    const auto parents = strings_of(body, "parents"), permissions = strings_of(body, "permissions");
    auto r = tenant_call(bus_, caller.principal, "role-set", [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(
          bp::Body::RoleDefine,
          bp::CreateRoleDefine(fbb, fbb.CreateString(tenant), fbb.CreateString(s[3]),
                               fbb.CreateVectorOfStrings(parents), fbb.CreateVectorOfStrings(permissions))
              .Union());
    });
    if (!r) return fail(r.error());
    return out.send(200, kJson, json_text(json{{"role", s[3]}, {"parents", parents}, {"permissions", permissions}}));
  }
  send_error(out, 404, "no route " + req.method + " " + req.path);
}

}  // namespace soulbox::gateway
