#include "gateway/e2b_gateway.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bus/subjects.h"
#include "gateway/create_request.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/json_text.h"
#include "gateway/openapi_document.h"

namespace soulbox::gateway {
namespace bp = busproto;
using json = nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An API key or a JWT: X-API-Key, else Authorization: Bearer.
std::string presented_token(const HttpRequest& req) {
  const std::string key = req.header("x-api-key");
  const std::string bearer = req.header("authorization");
  if (key.empty() && bearer.rfind("Bearer ", 0) == 0) return bearer.substr(7);
  return key;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void E2bGateway::handle(const HttpRequest& req, ResponseWriter& out) {
  const auto started = std::chrono::steady_clock::now();
  StatusRecorder recorded(out);
  {
    // Counted down however route() ends (the server answers 500 if it throws).
    struct InFlight {
      std::atomic<int64_t>& n;
      explicit InFlight(std::atomic<int64_t>& count) : n(count) { ++n; }
      ~InFlight() { --n; }
    } in_flight(metrics_.in_flight);
    route(req, recorded);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.record(HttpMetrics::route_family(req), recorded.status(), seconds);
  // One JSON line per request for log collectors (stdout; never bodies or credentials).
  if (options_.access_log)
    std::printf("%s\n", json_text(json{{"ts_ms", now_ms()},
                                       {"method", req.method},
                                       {"path", req.path},
                                       {"status", recorded.status()},
                                       {"ms", seconds * 1000},
                                       {"peer", req.peer},
                                       {"sandbox", req.header("e2b-sandbox-id")}})
                            .c_str());
}

void E2bGateway::health(ResponseWriter& out) {
  // Healthy when the bus carries at least one node's heartbeat.
  const auto nodes = nodes_.nodes(0);
  if (nodes.empty()) return out.send(503, kJson, R"({"status":"unavailable","message":"no node is reachable"})");
  out.send(200, kJson, json_text(json{{"status", "ok"}, {"nodes", nodes.size()}}));
}

void E2bGateway::prometheus(ResponseWriter& out) {
  out.send(200, "text/plain; version=0.0.4",
           metrics_.prometheus({{"soulbox_gateway_nodes", double(nodes_.nodes(0).size())},
                                {"soulbox_gateway_sandboxes", double(nodes_.sandboxes())}}));
}

// docs/openapi.json with the address the client reached as its server:
// what a client generated from it calls, whatever port or name the
// gateway is served on.
void E2bGateway::openapi(const HttpRequest& req, ResponseWriter& out) {
  static const json document = json::parse(openapi_document());
  json served = document;
  served["servers"] = json::array({{{"url", req.base_url()}}});
  out.send(200, kJson, json_text(served));
}

Result<E2bGateway::Caller> E2bGateway::authenticate_limited(const HttpRequest& req, int& wait_s) {
  const std::string token = presented_token(req);
  // Without a token there is nothing to check on the bus: a certificate the
  // TLS handshake verified, or a plain 401.
  if (token.empty()) return authenticate(req);
  const std::string source = auth_source(req.peer);
  const double now = steady_seconds();
  wait_s = auth_failures_.wait_s(source, token, now);
  if (wait_s) return Error{ErrorCode::resource_exhausted, "too many failed authentications from " + source};
  auto caller = authenticate(req);
  if (caller)
    auth_failures_.accepted(token, now);
  else if (caller.error().code == ErrorCode::permission_denied)
    auth_failures_.failed(source, token, now);
  return caller;
}

Result<E2bGateway::Caller> E2bGateway::authenticate(const HttpRequest& req) {
  const std::string token = presented_token(req);
  if (token.empty() && req.client_cert) {
    // Mutual TLS: the verified certificate names the tenant (O), the
    // principal (CN) and its roles (OU).
    const auto& cert = *req.client_cert;
    if (cert.common_name.empty() || cert.organization.empty()) {
      audit_denied("cert:" + cert.common_name, "no CN or O in the client certificate", req.peer);
      return Error{ErrorCode::permission_denied, "the client certificate needs a CN (who) and an O (tenant)"};
    }
    return Caller{cert.organization, "cert:" + cert.common_name, cert.units, ""};
  }
  if (token.empty()) return Error{ErrorCode::permission_denied, "missing API key (X-API-Key or Authorization: Bearer)"};
  if (jwt_ && looks_like_jwt(token)) {
    auto who = jwt_->verify(token, now_ms() / 1000);
    if (!who) {
      audit_denied("jwt", who.error().message, req.peer);
      return who.error();
    }
    return Caller{who->tenant, "jwt:" + who->subject, who->roles, ""};
  }
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    auto it = auth_cache_.find(token);
    if (it != auth_cache_.end() && it->second.second > now_ms()) return it->second.first;
  }
  // The envelope's principal is where the key came from (audited with a failure).
  auto r = bus_.as("", req.peer)->call(bus::subjects::tenant_op("auth"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::Authenticate, bp::CreateAuthenticate(fbb, fbb.CreateString(token)).Union());
  });
  if (!r) return r.error();
  const auto* p = r->get().body_as_Principal();
  if (!p) return Error{ErrorCode::internal, "the tenant service answered without a principal"};
  // The key's roles ride along for the gateway's own checks (/v1 admin
  // routes); nodes use the key's record, not these.
  std::vector<std::string> roles;
  if (p->roles())
    for (const auto* role : *p->roles()) roles.push_back(role->str());
  Caller caller{p->tenant()->str(), "key:" + p->key_id()->str(), roles, token};
  std::lock_guard<std::mutex> lock(auth_mu_);
  if (auth_cache_.size() > 10000) auth_cache_.clear();
  auth_cache_[token] = {caller, now_ms() + options_.auth_cache_ms};
  return caller;
}

// Credentials only the gateway saw are audited through the tenant service
// (API keys are audited where they are checked). Best effort: a lost
// record must not turn a refusal into an error.
void E2bGateway::audit_denied(const std::string& credential, const std::string& reason, const std::string& source) {
  (void)bus_.call(bus::subjects::tenant_op("denied"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto d =
        bp::CreateAccessDenied(fbb, fbb.CreateString(credential), fbb.CreateString(reason), fbb.CreateString(source));
    return std::make_pair(bp::Body::AccessDenied, d.Union());
  });
}

void E2bGateway::create(const HttpRequest& req, ResponseWriter& out, client::Client& as) {
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return send_error(out, 400, "the body is not a JSON object");
  // POST /sandboxes is what E2B SDKs up to 2.45 call (not /v2/ or /v1/).
  auto o = create_options(body, /*legacy_route=*/req.path.rfind("/sandboxes", 0) == 0);
  if (!o) return send_error(out, 400, o.error().message);
  o->tenant = as.tenant;
  auto made = as.create(*o);
  if (!made) return send_error(out, made.error());
  out.send(201, kJson, json_text(created_json(*made)));
}

json E2bGateway::created_json(const client::SandboxInfo& s) const {
  return json{{"sandboxID", s.id},
              {"templateID", s.template_name},
              {"clientID", "soulbox"},
              {"envdVersion", options_.envd_version},
              {"envdAccessToken", tokens_.token_for(s.id)},
              {"trafficAccessToken", nullptr},
              {"domain", nullptr}};
}

}  // namespace soulbox::gateway
