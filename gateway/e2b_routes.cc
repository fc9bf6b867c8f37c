// Every route the gateway serves, in one table: what the dispatcher matches
// requests against, and what a test compares docs/openapi.json with. A
// route added here without its document (or documented and not here) fails
// that test.
#include <nlohmann/json.hpp>

#include "bus/subjects.h"
#include "gateway/code_interpreter.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/envd_files.h"
#include "gateway/envd_process.h"
#include "gateway/envd_watch.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {

namespace {

constexpr const char* kNoAccessToken =
    "unauthorized access, please provide a valid access token or method signing if supported";

// "49983-sb-0123abcd.sandbox.example.com[:port]" -> "sb-0123abcd".
std::optional<std::string> sandbox_of_host(const std::string& host) {
  const auto dash = host.find('-'), dot = host.find('.');
  if (dash == std::string::npos || dot == std::string::npos || dash == 0 || dash > dot) return std::nullopt;
  if (host.find_first_not_of("0123456789") != dash) return std::nullopt;  // the port comes first
  const std::string id = host.substr(dash + 1, dot - dash - 1);
  if (id.rfind("sb-", 0) != 0 || !bus::subjects::check_token("sandbox id", id)) return std::nullopt;
  return id;
}

}  // namespace

const std::vector<E2bGateway::Route>& E2bGateway::route_table() {
  using G = E2bGateway;
  using C = RouteCall;
  constexpr Plane api = Plane::api, envd = Plane::envd, code = Plane::code_interpreter;
  constexpr Access open = Access::open, caller = Access::api_caller, token = Access::access_token;
  static const std::vector<Route> table = {
      // The gateway's own.
      {api, "GET", "/health", open, [](G& g, C& c) { g.health(c.out); }},
      {api, "GET", "/version", open,
       [](G& g, C& c) {
         c.out.send(200, "application/json",
                    json_text({{"version", g.options_.version}, {"envdVersion", g.options_.envd_version}}));
       }},
      {api, "GET", "/metrics", open, [](G& g, C& c) { g.prometheus(c.out); }},
      {api, "GET", "/openapi.json", open, [](G& g, C& c) { g.openapi(c.req, c.out); }},
      // E2B's control plane: POST and GET /sandboxes are what its SDKs up to
      // 2.45 call, the /v2/ forms what later ones do; resume is connect's
      // older name.
      {api, "POST", "/sandboxes", caller, [](G& g, C& c) { g.create(c.req, c.out, *c.as); }},
      {api, "POST", "/v2/sandboxes", caller, [](G& g, C& c) { g.create(c.req, c.out, *c.as); }},
      {api, "GET", "/sandboxes", caller, [](G& g, C& c) { g.list(c.req, c.out, *c.as); }},
      {api, "GET", "/v2/sandboxes", caller, [](G& g, C& c) { g.list(c.req, c.out, *c.as); }},
      {api, "GET", "/sandboxes/{sandboxID}", caller, [](G& g, C& c) { g.info(c.out, *c.as, c.sandbox); }},
      {api, "DELETE", "/sandboxes/{sandboxID}", caller, [](G& g, C& c) { g.kill(c.out, *c.as, c.sandbox); }},
      {api, "POST", "/sandboxes/{sandboxID}/timeout", caller,
       [](G& g, C& c) { g.set_timeout(c.req, c.out, *c.as, c.sandbox); }},
      {api, "POST", "/sandboxes/{sandboxID}/pause", caller, [](G& g, C& c) { g.pause(c.out, *c.as, c.sandbox); }},
      {api, "POST", "/sandboxes/{sandboxID}/connect", caller,
       [](G& g, C& c) { g.connect(c.req, c.out, *c.as, c.sandbox); }},
      {api, "POST", "/v2/sandboxes/{sandboxID}/connect", caller,
       [](G& g, C& c) { g.connect(c.req, c.out, *c.as, c.sandbox); }},
      {api, "POST", "/sandboxes/{sandboxID}/resume", caller,
       [](G& g, C& c) { g.connect(c.req, c.out, *c.as, c.sandbox); }},
      {api, "GET", "/sandboxes/{sandboxID}/metrics", caller,
       [](G& g, C& c) { g.metrics(c.req, c.out, *c.as, c.sandbox); }},
      // SoulBox's own (/v1).
      {api, "GET", "/v1/sandboxes/{sandboxID}/logs", caller,
       [](G& g, C& c) { g.logs(c.req, c.out, *c.as, c.sandbox); }},
      {api, "POST", "/v1/sandboxes/{sandboxID}/files/sign", caller,
       [](G& g, C& c) { g.sign_file_url(c.req, c.out, *c.as, c.sandbox); }},
      {api, "GET", "/v1/sandboxes/{sandboxID}/files", Access::soulbox_signature,
       [](G& g, C& c) { serve_files(g.bus_, g.urls_, c.req, c.out, c.sandbox, FileAuth::soulbox_signature); }},
      {api, "POST", "/v1/sandboxes/{sandboxID}/files", Access::soulbox_signature,
       [](G& g, C& c) { serve_files(g.bus_, g.urls_, c.req, c.out, c.sandbox, FileAuth::soulbox_signature); }},
      {api, "PUT", "/v1/tenants/{tenant}", caller, [](G& g, C& c) { g.tenant_put(c); }},
      {api, "GET", "/v1/tenants/{tenant}/usage", caller, [](G& g, C& c) { g.tenant_usage(c); }},
      {api, "POST", "/v1/tenants/{tenant}/keys", caller, [](G& g, C& c) { g.key_create(c); }},
      {api, "GET", "/v1/tenants/{tenant}/keys", caller, [](G& g, C& c) { g.key_list(c); }},
      {api, "DELETE", "/v1/tenants/{tenant}/keys/{keyID}", caller, [](G& g, C& c) { g.key_revoke(c); }},
      {api, "PUT", "/v1/tenants/{tenant}/roles/{role}", caller, [](G& g, C& c) { g.role_put(c); }},
      {api, "GET", "/v1/nodes", caller, [](G& g, C& c) { g.nodes_list(c); }},
      {api, "GET", "/v1/nodes/{node}/pool", caller, [](G& g, C& c) { g.node_pool(c); }},
      {api, "POST", "/v1/jobs", caller, [](G& g, C& c) { g.job_submit(c.req, c.out, *c.caller); }},
      {api, "GET", "/v1/jobs/{jobID}", caller, [](G& g, C& c) { g.job_result(c.out, *c.caller, c.params["jobID"]); }},
      {api, "GET", "/v1/audit", caller, [](G& g, C& c) { g.audit_query(c.req, c.out, *c.caller); }},
      // A sandbox's envd API.
      {envd, "GET", "/health", open, [](G&, C& c) { c.out.send(204, "", ""); }},
      {envd, "GET", "/files", Access::token_or_e2b_signature,
       [](G& g, C& c) {
         serve_files(g.bus_, g.urls_, c.req, c.out, c.sandbox,
                     c.token_ok ? FileAuth::access_token : FileAuth::e2b_signature);
       }},
      {envd, "POST", "/files", Access::token_or_e2b_signature,
       [](G& g, C& c) {
         serve_files(g.bus_, g.urls_, c.req, c.out, c.sandbox,
                     c.token_ok ? FileAuth::access_token : FileAuth::e2b_signature);
       }},
      {envd, "POST", "/process.Process/Start", token,
       [](G& g, C& c) { process_start(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/process.Process/Connect", token,
       [](G& g, C& c) { process_connect(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/process.Process/List", token, [](G& g, C& c) { process_list(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/process.Process/SendInput", token,
       [](G& g, C& c) { process_send_input(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/process.Process/CloseStdin", token,
       [](G& g, C& c) { process_close_stdin(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/process.Process/SendSignal", token,
       [](G& g, C& c) { process_send_signal(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/process.Process/Update", token,
       [](G& g, C& c) { process_update(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/filesystem.Filesystem/Stat", token,
       [](G& g, C& c) { fs_stat(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/filesystem.Filesystem/ListDir", token,
       [](G& g, C& c) { fs_list_dir(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/filesystem.Filesystem/MakeDir", token,
       [](G& g, C& c) { fs_make_dir(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/filesystem.Filesystem/Move", token,
       [](G& g, C& c) { fs_move(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/filesystem.Filesystem/Remove", token,
       [](G& g, C& c) { fs_remove(g.bus_, c.req, c.out, c.sandbox); }},
      {envd, "POST", "/filesystem.Filesystem/WatchDir", token,
       [](G& g, C& c) { serve_watch_dir(g.bus_, c.req, c.out, c.sandbox); }},
      // A sandbox's code interpreter (docs/code-interpreter.md).
      {code, "GET", "/health", open, [](G&, C& c) { c.out.send(204, "", ""); }},
      {code, "POST", "/execute", token, [](G& g, C& c) { execute_cell(g.bus_, c.req, c.out, c.sandbox); }},
      {code, "POST", "/contexts", open, [](G& g, C& c) { create_context(g.bus_, c.req, c.out, c.sandbox); }},
      {code, "GET", "/contexts", open, [](G& g, C& c) { list_contexts(g.bus_, c.out, c.sandbox); }},
      {code, "DELETE", "/contexts/{contextID}", open,
       [](G& g, C& c) { remove_context(g.bus_, c.out, c.sandbox, c.params["contextID"]); }},
      {code, "POST", "/contexts/{contextID}/restart", open,
       [](G& g, C& c) { restart_context(g.bus_, c.out, c.sandbox, c.params["contextID"]); }},
      {code, "POST", "/contexts/{contextID}/interrupt", open,
       [](G& g, C& c) { interrupt_context(g.bus_, c.out, c.sandbox, c.params["contextID"]); }},
  };
  return table;
}

std::vector<E2bGateway::RouteName> E2bGateway::routes() {
  std::vector<RouteName> names;
  for (const auto& r : route_table()) names.push_back({r.plane, r.method, r.pattern});
  return names;
}

void E2bGateway::route(const HttpRequest& req, ResponseWriter& out) {
  // The in-sandbox API is told apart by its headers (as E2B defines them),
  // or by E2B's direct URLs naming the sandbox in the host:
  // <port>-<id>.<domain> (a wildcard DNS name pointing at the gateway).
  std::string sandbox = req.header("e2b-sandbox-id");
  bool in_sandbox = !sandbox.empty() || !req.header("e2b-sandbox-port").empty();
  if (auto id = in_sandbox ? std::nullopt : sandbox_of_host(req.header("host"))) {
    sandbox = *id;
    in_sandbox = true;
  }
  if (in_sandbox)
    if (auto ok = bus::subjects::check_token("sandbox id", sandbox); !ok)
      return send_error(out, 400, ok.error().message);
  const std::string code_port = kCodeInterpreterPort;
  const bool code_interpreter =
      req.header("e2b-sandbox-port") == code_port || req.header("host").rfind(code_port + "-", 0) == 0;
  const Plane plane = !in_sandbox ? Plane::api : code_interpreter ? Plane::code_interpreter : Plane::envd;
  RouteCall call{req, out, {}, sandbox, false, nullptr, nullptr};
  const auto segments = path_segments(req.path);
  for (const auto& r : route_table())
    if (r.plane == plane && req.method == r.method && match_pattern(r.pattern, segments, call.params))
      return dispatch(r, call);
  const char* where = plane == Plane::api    ? ""
                      : plane == Plane::envd ? " in the sandbox API"
                                             : " in the code interpreter API";
  send_error(out, 404, "no route " + req.method + " " + req.path + where);
}

void E2bGateway::dispatch(const Route& route, RouteCall& call) {
  auto& out = call.out;
  if (call.params.has("sandboxID")) call.sandbox = call.params["sandboxID"];
  auto known_sandbox = [&] { return bus::subjects::check_token("sandbox id", call.sandbox).ok(); };
  if (route.plane != Plane::api) call.token_ok = tokens_.check(call.sandbox, call.req.header("x-access-token"));
  switch (route.access) {
    case Access::open:
    case Access::token_or_e2b_signature:  // the handler checks a signature when there is no token
      break;
    case Access::access_token:
      if (!call.token_ok) return send_error(out, 401, kNoAccessToken);
      break;
    case Access::soulbox_signature:  // the signed URL is the only credential
      if (!known_sandbox()) return send_error(out, 404, "sandbox not found");
      break;
    case Access::api_caller: {
      int auth_wait_s = 0;
      auto caller = authenticate_limited(call.req, auth_wait_s);
      if (auth_wait_s)
        return out.send(429, "application/json", error_body(429, caller.error().message),
                        {{"Retry-After", std::to_string(auth_wait_s)}});
      if (!caller) {
        const bool denied = caller.error().code == ErrorCode::permission_denied;
        return send_error(out, denied ? 401 : http_status(caller.error().code), caller.error().message);
      }
      if (const int wait_s = limiter_.take(caller->principal))
        return out.send(429, "application/json",
                        error_body(429, "rate limit: too many requests from " + caller->principal),
                        {{"Retry-After", std::to_string(wait_s)}});
      if (call.params.has("sandboxID") && !known_sandbox()) return send_error(out, 404, "sandbox not found");
      call.caller = &*caller;
      call.as = bus_.as(caller->tenant, caller->principal, caller->roles);
      return route.handle(*this, call);
    }
  }
  route.handle(*this, call);
}

}  // namespace soulbox::gateway
