// E2B's public API on SoulBox (docs/gateway.md): the control
// plane (/sandboxes, /v2/sandboxes) authenticated by API key, and the
// in-sandbox API routed by the E2b-Sandbox-Id / E2b-Sandbox-Port headers and
// authenticated by the sandbox's access token. Every request becomes bus
// requests through the C++ client; nothing is kept here between requests.
#pragma once
#include <algorithm>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/client.h"
#include "client/jobs.h"
#include "gateway/access_token.h"
#include "gateway/auth_failure_limiter.h"
#include "gateway/http_metrics.h"
#include "gateway/http_server.h"
#include "gateway/jwt.h"
#include "gateway/node_directory.h"
#include "gateway/rate_limiter.h"
#include "gateway/route_pattern.h"
#include "gateway/signed_urls.h"

namespace soulbox::gateway {

struct GatewayOptions {
  std::string envd_version = "0.6.13";  // what the SDKs' version gates see (E2B protocol: envd version gates)
  std::string version = "0.1.0";        // SoulBox's, on GET /version
  int auth_cache_ms = 2000;             // a revoked key works at most this much longer here
  double rate_per_s = 0;                // per caller on the control plane; 0: unlimited
  double rate_burst = 0;
  AuthFailureLimits auth_failures;  // failed authentications per source, before any bus call
  bool access_log = false;          // a JSON line per request on stdout
  // Admins of this tenant manage every tenant and see the nodes through
  // /v1; other admins manage their own tenant only.
  std::string system_tenant = "default";
};

// What the API works with; the optional parts (null) turn their routes off.
struct GatewayParts {
  client::Client& bus;
  const AccessTokens& tokens;
  NodeDirectory& nodes;
  const JwtVerifier* jwt = nullptr;       // JWT bearer tokens
  bus::KeyValueBucket* nonces = nullptr;  // spends single-use URLs
  client::JobPublisher* jobs = nullptr;   // /v1/jobs
  bus::JetStream* jetstream = nullptr;    // /v1/audit (reads SB_AUDIT)
};

class E2bGateway {
 public:
  E2bGateway(const GatewayParts& parts, GatewayOptions options)
      : bus_(parts.bus),
        jobs_(parts.jobs),
        jetstream_(parts.jetstream),
        tokens_(parts.tokens),
        urls_(parts.tokens, parts.nonces),
        nodes_(parts.nodes),
        jwt_(parts.jwt),
        options_(std::move(options)),
        limiter_(options_.rate_per_s, std::max(options_.rate_burst, options_.rate_per_s)),
        auth_failures_(options_.auth_failures) {}
  void handle(const HttpRequest& req, ResponseWriter& out);

  // Where a request goes: the gateway's own API (E2B's control plane,
  // SoulBox's /v1, health and such), or one sandbox's envd API or code
  // interpreter (named by the E2b-Sandbox-* headers or the host; port 49999
  // is the code interpreter).
  enum class Plane { api, envd, code_interpreter };
  struct RouteName {
    Plane plane;
    std::string method, pattern;  // pattern: OpenAPI's, "/sandboxes/{sandboxID}"
  };
  // Every route served: the table the gateway dispatches with
  // (e2b_routes.cc), which docs/openapi.json is checked against.
  static std::vector<RouteName> routes();

 private:
  struct Caller {
    std::string tenant, principal;   // principal: "key:<id>" or "jwt:<sub>"
    std::vector<std::string> roles;  // a JWT's (a key's roles are the tenant service's)
    std::string api_key;             // when the caller used one (jobs are authorised by it)
  };
  // What a route needs before its handler runs.
  enum class Access {
    open,                    // nothing
    api_caller,              // an API key, JWT or client certificate (and the rate limit)
    access_token,            // the sandbox's envd access token
    token_or_e2b_signature,  // that, or an E2B signed URL (the handler tells which)
    soulbox_signature,       // a SoulBox signed URL, checked by the handler
  };
  // One request as its handler sees it.
  struct RouteCall {
    const HttpRequest& req;
    ResponseWriter& out;
    RouteParams params;                  // the pattern's {name} segments
    std::string sandbox;                 // in-sandbox routes, and {sandboxID}
    bool token_ok = false;               // in-sandbox: the request carried the access token
    const Caller* caller = nullptr;      // api_caller routes
    std::unique_ptr<client::Client> as;  // api_caller routes: the bus as the caller
  };
  struct Route {
    Plane plane;
    const char* method;
    const char* pattern;
    Access access;
    void (*handle)(E2bGateway&, RouteCall&);
  };
  static const std::vector<Route>& route_table();
  void route(const HttpRequest& req, ResponseWriter& out);
  // The checks `route.access` asks for, then its handler.
  void dispatch(const Route& route, RouteCall& call);
  Result<Caller> authenticate(const HttpRequest& req);
  // authenticate() behind the failed-authentication limit of the request's
  // source: 429 (resource_exhausted) with the seconds to wait in `wait_s`.
  Result<Caller> authenticate_limited(const HttpRequest& req, int& wait_s);
  void audit_denied(const std::string& credential, const std::string& reason, const std::string& source);
  // e2b_gateway.cc: the gateway's own routes, and create.
  void health(ResponseWriter& out);
  void prometheus(ResponseWriter& out);
  void openapi(const HttpRequest& req, ResponseWriter& out);
  void create(const HttpRequest& req, ResponseWriter& out, client::Client& as);
  // What create and connect answer (with the sandbox's access token).
  nlohmann::json created_json(const client::SandboxInfo& s) const;
  // e2b_sandbox_routes.cc
  void list(const HttpRequest& req, ResponseWriter& out, client::Client& as);
  void info(ResponseWriter& out, client::Client& as, const std::string& id);
  void kill(ResponseWriter& out, client::Client& as, const std::string& id);
  void set_timeout(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  void pause(ResponseWriter& out, client::Client& as, const std::string& id);
  void connect(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  void metrics(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  // v1_routes.cc
  void logs(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  void sign_file_url(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  // v1_admin_routes.cc: /v1/tenants/..., /v1/nodes/..., for admins only:
  // each begins with admin_scope(), the checks they all make (role, body,
  // the tenant named), which answers when they fail.
  struct AdminScope;
  std::optional<AdminScope> admin_scope(RouteCall& c);
  void nodes_list(RouteCall& c);
  void node_pool(RouteCall& c);
  void tenant_put(RouteCall& c);
  void tenant_usage(RouteCall& c);
  void key_create(RouteCall& c);
  void key_list(RouteCall& c);
  void key_revoke(RouteCall& c);
  void role_put(RouteCall& c);
  // v1_jobs_routes.cc: /v1/jobs
  void job_submit(const HttpRequest& req, ResponseWriter& out, const Caller& caller);
  void job_result(ResponseWriter& out, const Caller& caller, const std::string& job_id);
  // v1_audit_routes.cc: /v1/audit
  void audit_query(const HttpRequest& req, ResponseWriter& out, const Caller& caller);

  client::Client& bus_;
  client::JobPublisher* jobs_;  // null: no JetStream
  bus::JetStream* jetstream_;
  const AccessTokens& tokens_;
  SignedUrls urls_;
  NodeDirectory& nodes_;
  const JwtVerifier* jwt_;  // null: API keys only
  GatewayOptions options_;
  RateLimiter limiter_;
  AuthFailureLimiter auth_failures_;
  HttpMetrics metrics_;
  std::mutex auth_mu_;
  std::unordered_map<std::string, std::pair<Caller, int64_t>> auth_cache_;  // token -> (caller, expiry ms)
};

}  // namespace soulbox::gateway
