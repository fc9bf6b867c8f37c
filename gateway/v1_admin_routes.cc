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

struct E2bGateway::AdminScope {
  json body;
  bool system = false;  // the caller administers every tenant
  std::string tenant;   // tenant routes: the one named
};

std::optional<E2bGateway::AdminScope> E2bGateway::admin_scope(RouteCall& c) {
  const Caller& caller = *c.caller;
  auto refuse = [&](int status, const std::string& message) -> std::optional<AdminScope> {
    send_error(c.out, status, message);
    return std::nullopt;
  };
  AdminScope a;
  const bool admin = std::find(caller.roles.begin(), caller.roles.end(), "admin") != caller.roles.end();
  a.system = admin && caller.tenant == options_.system_tenant;
  if (!admin) return refuse(403, caller.principal + " is not an admin");
  a.body = json::parse(c.req.body.empty() ? "{}" : c.req.body, nullptr, false);
  if (a.body.is_discarded() || !a.body.is_object()) return refuse(400, "the body is not a JSON object");
  if (!c.params.has("tenant")) {  // /v1/nodes...
    if (!a.system) return refuse(403, "nodes are for the system tenant's admins");
    return a;
  }
  a.tenant = c.params["tenant"];
  if (auto ok = bus::subjects::check_token("tenant", a.tenant); !ok) return refuse(400, ok.error().message);
  if (!a.system && a.tenant != caller.tenant) return refuse(404, "tenant " + a.tenant + " not found");
  return a;
}

// GET /v1/nodes
void E2bGateway::nodes_list(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
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
  c.out.send(200, kJson, json_text(nodes));
}

// GET /v1/nodes/{node}/pool
void E2bGateway::node_pool(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  const std::string& node = c.params["node"];
  if (auto ok = bus::subjects::check_token("node", node); !ok) return send_error(c.out, 404, "no node " + node);
  auto stats = bus_.pool_stats(node);
  if (!stats)
    return send_error(c.out, stats.error().code == ErrorCode::unavailable
                                 ? Error{ErrorCode::not_found, "no node " + node}
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
  c.out.send(200, kJson, json_text(pools));
}

// PUT /v1/tenants/{tenant}: create or change a tenant, system admins only.
void E2bGateway::tenant_put(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  const json& body = a->body;
  if (!a->system) return send_error(c.out, 403, "only the system tenant's admins change tenants");
  for (const char* field :
       {"maxConcurrent", "maxTotal", "maxCpus", "maxMemoryBytes", "auditRetentionS", "maxStorageBytes"})
    if (body.contains(field) &&
        (!body[field].is_number() || body[field].get<double>() < 0 || body[field].get<double>() > 1e18))
      return send_error(c.out, 400, std::string(field) + " must be a number from 0 (unlimited) up");
  if (body.contains("maxConcurrent") && body["maxConcurrent"].get<double>() > 4294967295.0)
    return send_error(c.out, 400, "maxConcurrent is too large");
  bool audit_redact = false;
  JsonFields fields(body, "body");
  fields.read("auditRedact", audit_redact);
  if (!fields.ok()) return send_error(c.out, fields.status(ErrorCode::invalid_argument).error());
  auto r = tenant_call(bus_, c.caller->principal, "upsert", [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(
        bp::Body::TenantUpsert,
        bp::CreateTenantUpsert(fbb, fbb.CreateString(a->tenant), body.value("maxConcurrent", 0u),
                               body.value("maxTotal", uint64_t(0)), body.value("maxCpus", 0.0f),
                               body.value("maxMemoryBytes", uint64_t(0)), body.value("auditRetentionS", uint64_t(0)),
                               audit_redact, body.value("maxStorageBytes", uint64_t(0)))
            .Union());
  });
  if (!r) return send_error(c.out, r.error());
  c.out.send(200, kJson, json_text(json{{"tenant", a->tenant}}));
}

void E2bGateway::tenant_usage(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  auto r = tenant_call(bus_, c.caller->principal, "usage", [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::TenantUsage, bp::CreateTenantUsage(fbb, fbb.CreateString(a->tenant)).Union());
  });
  if (!r) return send_error(c.out, r.error());
  c.out.send(200, kJson, json_text(usage_json(*r->get().body_as_TenantUsage())));
}

// POST /v1/tenants/{tenant}/keys {roles, ttlS}: the key is shown this once.
void E2bGateway::key_create(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  const auto roles = strings_of(a->body, "roles");
  if (a->body.contains("ttlS") &&
      (!a->body["ttlS"].is_number_unsigned() || a->body["ttlS"].get<uint64_t>() > 10 * 365 * 86400ull))
    return send_error(c.out, 400, "ttlS must be a number of seconds (0: no expiry)");
  auto r = tenant_call(bus_, c.caller->principal, "key-create", [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::KeyCreate,
                          bp::CreateKeyCreate(fbb, fbb.CreateString(a->tenant), fbb.CreateVectorOfStrings(roles),
                                              a->body.value("ttlS", int64_t(0)) * 1000)
                              .Union());
  });
  if (!r) return send_error(c.out, r.error());
  const auto* k = r->get().body_as_KeyCreated();
  c.out.send(201, kJson, json_text(json{{"keyID", k->key_id()->str()}, {"key", k->token()->str()}}));
}

void E2bGateway::key_list(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  auto r = tenant_call(bus_, c.caller->principal, "key-list", [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::KeyList, bp::CreateKeyList(fbb, fbb.CreateString(a->tenant)).Union());
  });
  if (!r) return send_error(c.out, r.error());
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
  c.out.send(200, kJson, json_text(keys));
}

void E2bGateway::key_revoke(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  auto r = tenant_call(bus_, c.caller->principal, "key-revoke", [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(
        bp::Body::KeyRevoke,
        bp::CreateKeyRevoke(fbb, fbb.CreateString(a->tenant), fbb.CreateString(c.params["keyID"])).Union());
  });
  if (!r) return send_error(c.out, r.error());
  c.out.send(204, "", "");
}

// PUT /v1/tenants/{tenant}/roles/{role} {parents, permissions}
void E2bGateway::role_put(RouteCall& c) {
  const auto a = admin_scope(c);
  if (!a) return;
  const std::string& role = c.params["role"];
  const auto parents = strings_of(a->body, "parents"), permissions = strings_of(a->body, "permissions");
  auto r = tenant_call(bus_, c.caller->principal, "role-set", [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(
        bp::Body::RoleDefine,
        bp::CreateRoleDefine(fbb, fbb.CreateString(a->tenant), fbb.CreateString(role),
                             fbb.CreateVectorOfStrings(parents), fbb.CreateVectorOfStrings(permissions))
            .Union());
  });
  if (!r) return send_error(c.out, r.error());
  c.out.send(200, kJson, json_text(json{{"role", role}, {"parents", parents}, {"permissions", permissions}}));
}

}  // namespace soulbox::gateway
