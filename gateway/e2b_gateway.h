// E2B's public API on SoulBox (../shared/E2B-PROTOCOL.md): the control
// plane (/sandboxes, /v2/sandboxes) authenticated by API key, and the
// in-sandbox API routed by the E2b-Sandbox-Id / E2b-Sandbox-Port headers and
// authenticated by the sandbox's access token. Every request becomes bus
// requests through the C++ client; nothing is kept here between requests.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "client/client.h"
#include "gateway/access_token.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

struct GatewayOptions {
  std::string envd_version = "0.6.13";  // what the SDKs' version gates see (E2B-PROTOCOL.md §4.4)
  std::string version = "0.1.0";        // SoulBox's, on GET /version
  int auth_cache_ms = 2000;             // a revoked key works at most this much longer here
};

class E2bGateway {
 public:
  E2bGateway(client::Client& bus, const AccessTokens& tokens, GatewayOptions options)
      : bus_(bus), tokens_(tokens), options_(std::move(options)) {}
  void handle(const HttpRequest& req, ResponseWriter& out);

 private:
  struct Caller {
    std::string tenant, key_id;
  };
  Result<Caller> authenticate(const HttpRequest& req);
  void control_plane(const HttpRequest& req, ResponseWriter& out);
  void in_sandbox(const HttpRequest& req, ResponseWriter& out);
  void create(const HttpRequest& req, ResponseWriter& out, client::Client& as);

  client::Client& bus_;
  const AccessTokens& tokens_;
  GatewayOptions options_;
  std::mutex auth_mu_;
  std::unordered_map<std::string, std::pair<Caller, int64_t>> auth_cache_;  // token -> (caller, expiry ms)
};

}  // namespace soulbox::gateway
