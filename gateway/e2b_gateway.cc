#include "gateway/e2b_gateway.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bus/subjects.h"
#include "gateway/code_interpreter.h"
#include "gateway/create_request.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/envd_files.h"
#include "gateway/envd_process.h"
#include "gateway/envd_watch.h"
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

// "49983-sb-0123abcd.sandbox.example.com[:port]" -> "sb-0123abcd".
std::optional<std::string> sandbox_of_host(const std::string& host) {
  const auto dash = host.find('-'), dot = host.find('.');
  if (dash == std::string::npos || dot == std::string::npos || dash == 0 || dash > dot) return std::nullopt;
  if (host.find_first_not_of("0123456789") != dash) return std::nullopt;  // the port comes first
  const std::string id = host.substr(dash + 1, dot - dash - 1);
  if (id.rfind("sb-", 0) != 0 || !bus::subjects::check_token("sandbox id", id)) return std::nullopt;
  return id;
}

// "/sandboxes/<id>/timeout" -> {"sandboxes", "<id>", "timeout"}.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
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

void E2bGateway::route(const HttpRequest& req, ResponseWriter& out) {
  // The in-sandbox API is told apart by its headers (as E2B defines them).
  if (!req.header("e2b-sandbox-id").empty() || !req.header("e2b-sandbox-port").empty())
    return in_sandbox(req, out, req.header("e2b-sandbox-id"));
  // E2B's direct URLs name the sandbox in the host: <port>-<id>.<domain>
  // (a wildcard DNS name pointing at the gateway).
  if (auto id = sandbox_of_host(req.header("host"))) return in_sandbox(req, out, *id);
  if (req.path == "/health") {
    // Healthy when the bus carries at least one node's heartbeat.
    const auto nodes = nodes_.nodes(0);
    if (nodes.empty()) return out.send(503, kJson, R"({"status":"unavailable","message":"no node is reachable"})");
    return out.send(200, kJson, json_text(json{{"status", "ok"}, {"nodes", nodes.size()}}));
  }
  if (req.path == "/metrics" && req.method == "GET")
    return out.send(200, "text/plain; version=0.0.4",
                    metrics_.prometheus({{"soulbox_gateway_nodes", double(nodes_.nodes(0).size())},
                                         {"soulbox_gateway_sandboxes", double(nodes_.sandboxes())}}));
  if (req.path == "/openapi.json" && req.method == "GET") return out.send(200, kJson, openapi_document());
  if (req.path == "/version")
    return out.send(200, kJson, json_text(json{{"version", options_.version}, {"envdVersion", options_.envd_version}}));
  control_plane(req, out);
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

void E2bGateway::control_plane(const HttpRequest& req, ResponseWriter& out) {
  const auto seg = segments(req.path);
  const bool v1 = !seg.empty() && seg[0] == "v1";
  const bool v2 = !seg.empty() && seg[0] == "v2";
  const std::vector<std::string> s(seg.begin() + (v1 || v2 ? 1 : 0), seg.end());
  const bool admin_route = v1 && !s.empty() && (s[0] == "tenants" || s[0] == "nodes");
  const bool jobs_route = v1 && !s.empty() && s[0] == "jobs";
  const bool audit_route = v1 && s.size() == 1 && s[0] == "audit" && req.method == "GET";
  if (s.empty() || (s[0] != "sandboxes" && !admin_route && !jobs_route && !audit_route))
    return send_error(out, 404, "no route " + req.method + " " + req.path);
  // /v1/sandboxes/{id}/files: a signed URL is the only credential.
  if (v1 && s.size() == 3 && s[2] == "files") {
    if (auto ok = bus::subjects::check_token("sandbox id", s[1]); !ok) return send_error(out, 404, "sandbox not found");
    return serve_files(bus_, urls_, req, out, s[1], FileAuth::soulbox_signature);
  }
  int auth_wait_s = 0;
  auto caller = authenticate_limited(req, auth_wait_s);
  if (auth_wait_s)
    return out.send(429, kJson, error_body(429, caller.error().message),
                    {{"Retry-After", std::to_string(auth_wait_s)}});
  if (!caller) {
    const bool denied = caller.error().code == ErrorCode::permission_denied;
    return send_error(out, denied ? 401 : http_status(caller.error().code), caller.error().message);
  }
  if (const int wait_s = limiter_.take(caller->principal))
    return out.send(429, kJson, error_body(429, "rate limit: too many requests from " + caller->principal),
                    {{"Retry-After", std::to_string(wait_s)}});
  if (admin_route) return admin(req, out, *caller, s);
  if (jobs_route) return jobs(req, out, *caller, s);
  if (audit_route) return audit_query(req, out, *caller);
  auto as = bus_.as(caller->tenant, caller->principal, caller->roles);
  if (s.size() == 1 && req.method == "POST") return create(req, out, *as);
  if (s.size() == 1 && req.method == "GET") return list(req, out, *as);
  if (s.size() < 2) return send_error(out, 405, "method " + req.method + " not allowed on " + req.path);
  const std::string& id = s[1];
  if (auto ok = bus::subjects::check_token("sandbox id", id); !ok) return send_error(out, 404, "sandbox not found");
  if (s.size() == 2 && req.method == "GET") {
    auto info = as->info(id);
    if (!info) return send_error(out, about_sandbox(info.error(), id));
    if (info->state == bp::SandboxState::Terminated) return send_error(out, 404, "sandbox " + id + " not found");
    return out.send(200, kJson, json_text(sandbox_json(*info, options_.envd_version)));
  }
  if (s.size() == 2 && req.method == "DELETE") {
    auto killed = as->kill(id);
    if (!killed) return send_error(out, about_sandbox(killed.error(), id));
    return out.send(204, "", "");
  }
  const std::string action = s.size() == 3 ? s[2] : "";
  if (action == "pause" && req.method == "POST") return pause(out, *as, id);
  if ((action == "connect" || action == "resume") && req.method == "POST") return connect(req, out, *as, id);
  if (action == "metrics" && req.method == "GET") return metrics(req, out, *as, id);
  if (v1 && action == "logs" && req.method == "GET") return logs(req, out, *as, id);
  if (v1 && s.size() == 4 && s[2] == "files" && s[3] == "sign" && req.method == "POST")
    return sign_file_url(req, out, *as, id);
  if (s.size() == 3 && s[2] == "timeout" && req.method == "POST") {
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("timeout") ||
        !body["timeout"].is_number_unsigned() || body["timeout"].get<uint64_t>() > 86400 * 30)
      return send_error(out, 400, "body must be {\"timeout\": <seconds>}");
    auto set = as->set_timeout(id, body["timeout"].get<uint64_t>() * 1000);
    if (!set) return send_error(out, about_sandbox(set.error(), id));
    return out.send(204, "", "");
  }
  send_error(out, 404, "no route " + req.method + " " + req.path);
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

void E2bGateway::in_sandbox(const HttpRequest& req, ResponseWriter& out, const std::string& id) {
  if (auto ok = bus::subjects::check_token("sandbox id", id); !ok) return send_error(out, 400, ok.error().message);
  if (req.path == "/health") return out.send(204, "", "");
  const bool token_ok = tokens_.check(id, req.header("x-access-token"));
  const std::string code_port = std::string(kCodeInterpreterPort);
  if (req.header("e2b-sandbox-port") == code_port || req.header("host").rfind(code_port + "-", 0) == 0)
    return serve_code_interpreter(bus_, req, out, id, token_ok);
  if (req.path == "/files")
    return serve_files(bus_, urls_, req, out, id, token_ok ? FileAuth::access_token : FileAuth::e2b_signature);
  if (!token_ok)
    return send_error(out, 401,
                      "unauthorized access, please provide a valid access token or method signing if supported");
  const std::string process = "/process.Process/", filesystem = "/filesystem.Filesystem/";
  if (req.path.rfind(process, 0) == 0 && req.method == "POST")
    return serve_process_rpc(bus_, req, out, id, req.path.substr(process.size()));
  if (req.path == filesystem + "WatchDir" && req.method == "POST") return serve_watch_dir(bus_, req, out, id);
  if (req.path.rfind(filesystem, 0) == 0 && req.method == "POST")
    return serve_filesystem_rpc(bus_, req, out, id, req.path.substr(filesystem.size()));
  send_error(out, 404, "no route " + req.method + " " + req.path + " in the sandbox API");
}

}  // namespace soulbox::gateway
