// A whole gateway in one object: its bus connection, node directory,
// access-token key, the E2B API and the HTTP server. soulbox-gateway runs
// one on its own; soulboxd runs one inside itself for the single-node
// default (`--http-port`).
#pragma once
#include <memory>
#include <string>

#include "bus/connection.h"
#include "client/client.h"
#include "common/result.h"
#include "gateway/access_token.h"
#include "gateway/e2b_gateway.h"
#include "gateway/http_server.h"
#include "gateway/jwt.h"
#include "gateway/node_directory.h"

namespace soulbox::gateway {

struct GatewayServiceOptions {
  bus::ConnectOptions bus;
  std::string token_key_file;
  HttpServerOptions http;
  GatewayOptions api;
  JwtConfig jwt;  // not enabled unless a secret or JWKS file is set
};

class GatewayService {
 public:
  static Result<std::unique_ptr<GatewayService>> start(const GatewayServiceOptions& options);
  ~GatewayService();        // stops the server (joins its connections) before the rest
  std::string url() const;  // http(s)://host:port

 private:
  GatewayService() = default;
  GatewayServiceOptions options_;
  std::unique_ptr<client::Client> bus_;
  std::unique_ptr<NodeDirectory> nodes_;
  std::unique_ptr<AccessTokens> tokens_;
  std::unique_ptr<bus::JetStream> jetstream_;
  std::unique_ptr<bus::KeyValueBucket> nonces_;  // spent single-use URLs
  std::unique_ptr<client::JobPublisher> jobs_;
  std::unique_ptr<JwtVerifier> jwt_;
  std::unique_ptr<E2bGateway> api_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace soulbox::gateway
