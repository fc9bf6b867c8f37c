// The gateway's whole router on one request: an HTTP request's bytes,
// parsed as the server parses them, handed to E2bGateway::handle, which
// routes it (control plane, /v1, the in-sandbox API by header or host name)
// and reads its JSON or Connect body. The bus is a real, empty nats-server
// (started here, in a temporary directory): every request a route makes
// finds no responder, so each route runs up to its first bus call. A route
// must answer every request and never throw (the server would turn a throw
// into "500 internal error", which bad input must never cause).
//
// Credentials the fuzzer cannot forge are filled in, and Content-Length is
// set right (see fix_content_length): `Authorization: Bearer
// jwt` becomes a valid HS256 token of an admin of the system tenant, and
// `X-Access-Token: token` the sandbox's real access token.
#include <openssl/hmac.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "bus/embedded_server.h"
#include "bus/subjects.h"
#include "common/base64.h"
#include "fuzz/temp_dir.h"
#include "gateway/e2b_gateway.h"

namespace gw = soulbox::gateway;
namespace bp = soulbox::busproto;
using soulbox::bus::EmbeddedServer;

namespace {

constexpr const char* kSecret = "fuzzing-secret";
constexpr const char* kNode = "fuzz-node";

struct World {
  std::string dir;
  std::unique_ptr<EmbeddedServer> nats;
  std::unique_ptr<soulbox::client::Client> bus;
  std::unique_ptr<gw::NodeDirectory> nodes;
  std::unique_ptr<gw::AccessTokens> tokens;
  std::unique_ptr<gw::JwtVerifier> jwt;
  std::unique_ptr<gw::E2bGateway> gateway;
  std::string admin_jwt;
  std::chrono::steady_clock::time_point last_heartbeat;
};
World* world = nullptr;

std::string base64url(const std::string& raw) {
  std::string s = soulbox::base64_encode(raw);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

std::string hs256_token(const std::string& claims) {
  const std::string signed_part = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, int(std::string(kSecret).size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &len);
  return signed_part + "." + base64url(std::string(reinterpret_cast<char*>(mac), len));
}

// A node's heartbeat, so routes that spread over the live nodes find one
// (and do not wait for one); it goes stale after 5 s.
void heartbeat() {
  const auto now = std::chrono::steady_clock::now();
  if (now - world->last_heartbeat < std::chrono::seconds(2)) return;
  flatbuffers::FlatBufferBuilder fbb;
  auto health = bp::CreateNodeHealth(fbb, fbb.CreateString(kNode), fbb.CreateString("healthy"));
  fbb.Finish(bp::CreateEnvelope(fbb, fbb.CreateString("hb"), 0, 0, 0, 0, bp::Body::NodeHealth, health.Union()),
             bp::EnvelopeIdentifier());
  (void)world->bus->connection().publish(soulbox::bus::subjects::node_heartbeat(kNode), bp::finish(fbb));
  world->last_heartbeat = now;
}

// Mutations rarely keep a Content-Length right, and a wrong one ends at the
// parser: it is set to the size of what follows the head, so that changes
// to a body reach the routes.
std::string fix_content_length(std::string raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  const std::string name = "\r\nContent-Length: ";
  const size_t at = raw.find(name);
  if (head_end == std::string::npos || at == std::string::npos || at >= head_end) return raw;
  const size_t value = at + name.size(), value_end = raw.find("\r\n", value);
  return raw.replace(value, value_end - value, std::to_string(raw.size() - head_end - 4));
}

void fail(const std::string& what) {
  std::cerr << "gateway_routes_fuzz: " << what << "\n";
  std::abort();
}

class Recorder final : public gw::ResponseWriter {
 public:
  void send(int status, const std::string&, const std::string&, const std::map<std::string, std::string>&) override {
    answer(status);
  }
  bool start(int status, const std::string&) override {
    answer(status);
    return true;
  }
  bool write(const std::string&) override { return true; }
  void finish() override {}
  void abort() override {}
  bool answered() const { return status_ != 0; }

 private:
  void answer(int status) {
    if (status_ != 0) fail("a route answered twice");
    if (status < 100 || status > 599) fail("a route answered status " + std::to_string(status));
    status_ = status;
  }
  int status_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world = new World();
  world->dir = soulbox_fuzz::temp_dir("gateway");
  // nats-server dies with this process (PR_SET_PDEATHSIG), even on a crash.
  auto nats = EmbeddedServer::start({world->dir + "/nats", "", 10000});
  if (!nats) fail(nats.error().message);
  world->nats = std::move(*nats);
  auto bus = soulbox::client::Client::connect(
      {world->nats->url(), world->nats->user(), world->nats->password(), "gateway-fuzz"});
  if (!bus) fail(bus.error().message);
  world->bus = std::move(*bus);
  // A request whose no-responders answer is lost (the connection to
  // nats-server dropped under load and came back) waits this long, not
  // the default 30 s, which libFuzzer's -timeout=10 would call a hang.
  world->bus->timeout_ms = 2000;
  auto nodes = gw::NodeDirectory::start(world->bus->connection());
  if (!nodes) fail(nodes.error().message);
  world->nodes = std::move(*nodes);
  heartbeat();
  if (world->nodes->nodes(5000).empty()) fail("the fake node's heartbeat did not arrive");
  auto tokens = gw::AccessTokens::load_or_create(world->dir + "/token.key");
  if (!tokens) fail(tokens.error().message);
  world->tokens = std::move(*tokens);
  gw::JwtConfig jwt;
  jwt.hs256_secret = kSecret;
  auto verifier = gw::JwtVerifier::load(jwt);
  if (!verifier) fail(verifier.error().message);
  world->jwt = std::move(*verifier);
  world->admin_jwt =
      hs256_token(R"({"sub":"fuzzer","tenant":"default","roles":["admin"],"exp":)" + std::to_string(4102444800) + "}");
  gw::GatewayParts parts{*world->bus, *world->tokens, *world->nodes};
  parts.jwt = world->jwt.get();
  world->gateway = std::make_unique<gw::E2bGateway>(parts, gw::GatewayOptions{});
  std::atexit([] { std::filesystem::remove_all(world->dir); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto req =
      gw::parse_http_request(fix_content_length(std::string(reinterpret_cast<const char*>(data), size)), 1 << 20);
  if (!req) return 0;
  if (req->header("authorization") == "Bearer jwt") req->headers["authorization"] = "Bearer " + world->admin_jwt;
  if (req->header("x-access-token") == "token")
    req->headers["x-access-token"] = world->tokens->token_for(req->header("e2b-sandbox-id"));
  req->peer = "127.0.0.1:40000";
  heartbeat();
  Recorder out;
  world->gateway->handle(*req, out);  // a throw ends the run: libFuzzer reports it
  if (!out.answered()) fail("a route sent no response");
  return 0;
}
