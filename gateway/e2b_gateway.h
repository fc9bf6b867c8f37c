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

#include "client/client.h"
#include "client/jobs.h"
#include "gateway/access_token.h"
#include "gateway/auth_failure_limiter.h"
#include "gateway/http_metrics.h"
#include "gateway/http_server.h"
#include "gateway/jwt.h"
#include "gateway/node_directory.h"
#include "gateway/rate_limiter.h"
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

 private:
  void route(const HttpRequest& req, ResponseWriter& out);
  struct Caller {
    std::string tenant, principal;   // principal: "key:<id>" or "jwt:<sub>"
    std::vector<std::string> roles;  // a JWT's (a key's roles are the tenant service's)
    std::string api_key;             // when the caller used one (jobs are authorised by it)
  };
  Result<Caller> authenticate(const HttpRequest& req);
  // authenticate() behind the failed-authentication limit of the request's
  // source: 429 (resource_exhausted) with the seconds to wait in `wait_s`.
  Result<Caller> authenticate_limited(const HttpRequest& req, int& wait_s);
  void audit_denied(const std::string& credential, const std::string& reason, const std::string& source);
  void control_plane(const HttpRequest& req, ResponseWriter& out);
  void in_sandbox(const HttpRequest& req, ResponseWriter& out, const std::string& id);
  void create(const HttpRequest& req, ResponseWriter& out, client::Client& as);
  // What create and connect answer (with the sandbox's access token).
  nlohmann::json created_json(const client::SandboxInfo& s) const;
  // e2b_sandbox_routes.cc
  void list(const HttpRequest& req, ResponseWriter& out, client::Client& as);
  void pause(ResponseWriter& out, client::Client& as, const std::string& id);
  void connect(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  void metrics(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  // v1_routes.cc
  void logs(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  void sign_file_url(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id);
  // v1_admin_routes.cc: /v1/tenants/..., /v1/nodes/...
  void admin(const HttpRequest& req, ResponseWriter& out, const Caller& caller, const std::vector<std::string>& s);
  // v1_jobs_routes.cc: /v1/jobs
  void jobs(const HttpRequest& req, ResponseWriter& out, const Caller& caller, const std::vector<std::string>& s);
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
