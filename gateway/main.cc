// soulbox-gateway: E2B's HTTP API (and SoulBox's) in front of the bus.
// Stateless: several can run against the same NATS; each needs the same
// access-token key (--token-key) to accept the others' sandbox tokens.
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "bus/bus_roles.h"
#include "client/client.h"
#include "common/malloc_tuning.h"
#include "common/stop_signals.h"
#include "gateway/gateway_service.h"

namespace {

using namespace soulbox;

// Each connection is a descriptor: the soft limit (often 1024) up to the
// hard one, so that --max-connections is what bounds them.
void raise_open_files_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int fail(const std::string& what) {
  std::cerr << "soulbox-gateway: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  keep_large_blocks_out_of_arenas();
  CLI::App app{"soulbox-gateway: E2B's API on SoulBox"};
  std::string data_dir = "/var/lib/soulbox", nats_url, nats_user, nats_password, token_key, ready_file;
  gateway::HttpServerOptions http;
  http.port = 3000;
  app.add_option("--data-dir", data_dir, "soulboxd's data dir (its ready file tells how to reach the bus)")
      ->capture_default_str();
  app.add_option("--nats", nats_url, "NATS URL instead of the ready file");
  app.add_option("--nats-user", nats_user, "NATS user");
  app.add_option("--nats-password", nats_password, "NATS password");
  app.add_option("--host", http.host, "Listen address")->capture_default_str();
  app.add_option("--port", http.port, "Listen port (0: any free one)")->capture_default_str();
  app.add_option("--token-key", token_key, "Sandbox access-token key (default <data-dir>/gateway-token.key)");
  app.add_option("--ready-file", ready_file, "Write {\"url\": ...} here once listening");
  app.add_option("--max-body", http.max_body_bytes, "Largest request body (bytes)")->capture_default_str();
  app.add_option("--max-connections", http.max_connections,
                 "Open connections at most (more get 503 with Retry-After), and at most 3/4 of the open-files "
                 "limit (raised to the hard limit at start)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-handlers", http.max_handler_threads,
                 "Requests handled at once, streams included (each holds a thread while it runs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--io-threads", http.io_threads, "Threads serving connections (0: one per core, at most 4)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--idle-timeout", http.idle_timeout_s, "Seconds a connection may stay idle, or a read or write stall")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--tls-cert", http.tls_cert_file, "Serve HTTPS with this certificate chain (PEM)");
  app.add_option("--tls-key", http.tls_key_file, "Its private key (PEM; default: in the certificate file)");
  app.add_option("--tls-client-ca", http.tls_client_ca_file,
                 "Verify client certificates against this CA: mutual TLS (CN principal, O tenant, OU roles)");
  app.add_flag("--require-client-cert", http.require_client_cert, "Refuse TLS clients without a certificate");
  gateway::GatewayOptions options;
  app.add_option("--rate-limit", options.rate_per_s, "Control-plane requests per second per caller (0: unlimited)")
      ->capture_default_str();
  app.add_option("--rate-burst", options.rate_burst, "Burst above the rate (default: the rate)");
  app.add_option("--auth-failure-limit", options.auth_failures.max_failures,
                 "Failed authentications per source (IPv4 address, IPv6 /64) and window before 429 (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--auth-failure-window", options.auth_failures.window_s,
                 "That window (s); a source past the limit waits until it ends")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_flag("--access-log", options.access_log, "Print a JSON line per request on stdout");
  gateway::JwtConfig jwt;
  std::string hs256_file;
  app.add_option("--jwt-hs256-secret-file", hs256_file, "Accept HS256 JWTs signed with this file's secret");
  app.add_option("--jwks-file", jwt.jwks_file, "Accept RS256/ES256 JWTs (OIDC) signed by these keys (JWKS JSON)");
  app.add_option("--jwt-issuer", jwt.issuer, "Required iss of JWTs");
  app.add_option("--jwt-audience", jwt.audience, "Required aud of JWTs");
  app.add_option("--jwt-tenant-claim", jwt.tenant_claim, "Claim naming the tenant")->capture_default_str();
  app.add_option("--jwt-roles-claim", jwt.roles_claim, "Claim listing the roles")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  raise_open_files_limit();

  // Before nats.c starts its threads, so only sigwait below sees them.
  const sigset_t stop = block_stop_signals();
  gateway::GatewayServiceOptions service{
      {nats_url, nats_user, nats_password, "soulbox-gateway"}, token_key, http, options, jwt};
  if (service.bus.url.empty()) {
    auto ready = client::read_ready_file(data_dir + "/soulboxd.json", "gateway");
    if (!ready) return fail(ready.error().message);
    service.bus = ready->connect;
    service.bus.name = "soulbox-gateway";
  }
  // The gateway role's inbox (bus/bus_roles.h), also when --nats names a
  // server whose users an operator configured after docs/SECURITY.md.
  if (service.bus.inbox_prefix.empty()) service.bus.inbox_prefix = bus::role_inbox_prefix(bus::BusRole::gateway);
  if (service.token_key_file.empty()) service.token_key_file = data_dir + "/gateway-token.key";
  if (!hs256_file.empty()) {
    std::ifstream in(hs256_file);
    std::getline(in, service.jwt.hs256_secret);
    if (service.jwt.hs256_secret.size() < 32) return fail(hs256_file + ": an HS256 secret needs at least 32 bytes");
  }
  auto gateway = gateway::GatewayService::start(service);
  if (!gateway) return fail(gateway.error().message);
  const std::string url = (*gateway)->url();
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp") << "{\"url\":\"" << url << "\"}\n";
    std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
  }
  std::cout << "soulbox-gateway: listening on " << url << "\n"
            << "soulbox-gateway: E2B SDKs: E2B_API_URL=" << url << " E2B_SANDBOX_URL=" << url
            << " E2B_API_KEY=<a SoulBox API key>\n"
            << std::flush;
  int sig = 0;
  sigwait(&stop, &sig);
  std::cout << "soulbox-gateway: stopping (signal " << sig << ")\n";
  return 0;
}
