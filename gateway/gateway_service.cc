#include "gateway/gateway_service.h"

#include <iostream>

namespace soulbox::gateway {

Result<std::unique_ptr<GatewayService>> GatewayService::start(const GatewayServiceOptions& options) {
  std::unique_ptr<GatewayService> g(new GatewayService());
  g->options_ = options;
  auto bus = client::Client::connect(options.bus);
  if (!bus) return Error{bus.error().code, "bus: " + bus.error().message};
  g->bus_ = std::move(*bus);
  // Many streams at once: each holds at most 4 MiB its client has not read.
  g->bus_->stream_buffer_bytes = 4u << 20;
  auto nodes = NodeDirectory::start(g->bus_->connection());
  if (!nodes) return Error{nodes.error().code, "bus: " + nodes.error().message};
  g->nodes_ = std::move(*nodes);
  // Hear the nodes before listening, so /health is right from the start.
  if (g->nodes_->nodes(3000).empty()) std::cerr << "soulbox-gateway: no node's heartbeat yet; /health says 503\n";
  auto tokens = AccessTokens::load_or_create(options.token_key_file);
  if (!tokens) return Error{tokens.error().code, "access-token key: " + tokens.error().message};
  g->tokens_ = std::move(*tokens);
  if (options.jwt.enabled()) {
    auto jwt = JwtVerifier::load(options.jwt);
    if (!jwt) return Error{jwt.error().code, "JWT: " + jwt.error().message};
    g->jwt_ = std::move(*jwt);
  }
  // Single-use URLs are spent here; without JetStream only they are off.
  if (auto js = bus::JetStream::open(g->bus_->connection())) {
    g->jetstream_ = std::move(*js);
    auto bucket = g->jetstream_->bucket({SignedUrls::kNonceBucket, (SignedUrls::kMaxLifetimeS + 3600) * 1000, 256});
    if (bucket)
      g->nonces_ = std::move(*bucket);
    else
      std::cerr << "soulbox-gateway: no single-use URLs: " << bucket.error().message << "\n";
  }
  if (auto jobs = client::JobPublisher::open(g->bus_->connection()))
    g->jobs_ = std::move(*jobs);
  else
    std::cerr << "soulbox-gateway: no jobs over HTTP: " << jobs.error().message << "\n";
  GatewayParts parts{*g->bus_, *g->tokens_, *g->nodes_};
  parts.jwt = g->jwt_.get();
  parts.nonces = g->nonces_.get();
  parts.jobs = g->jobs_.get();
  parts.jetstream = g->jetstream_.get();
  g->api_ = std::make_unique<E2bGateway>(parts, options.api);
  E2bGateway* api = g->api_.get();
  auto server =
      HttpServer::start(options.http, [api](const HttpRequest& req, ResponseWriter& out) { api->handle(req, out); });
  if (!server) return server.error();
  g->server_ = std::move(*server);
  return g;
}

GatewayService::~GatewayService() {
  server_.reset();  // no handler runs after this
}

std::string GatewayService::url() const {
  return std::string(options_.http.tls_cert_file.empty() ? "http://" : "https://") + options_.http.host + ":" +
         std::to_string(server_->port());
}

}  // namespace soulbox::gateway
