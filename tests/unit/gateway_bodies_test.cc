// Request bodies of the wrong shape, found by fuzz/gateway_routes_fuzz.cc:
// each once threw from its route (nlohmann's value() on a field of another
// type), which the server turned into "500 internal error". Each must be a
// clear 400 (or, on a Connect stream, an invalid_argument end frame). The
// gateway runs as in the fuzz target: against an empty nats-server, with a
// JWT and an access token made here; every request is refused before any bus
// call, so no node is needed.
#include <openssl/hmac.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>

#include "bus/embedded_server.h"
#include "common/base64.h"
#include "gateway/connect_frame.h"
#include "gateway/e2b_gateway.h"
#include "gateway/job_request.h"

namespace {

using namespace soulbox;
using namespace soulbox::gateway;

constexpr const char* kSecret = "gateway-bodies-test-secret";
constexpr const char* kSandbox = "sb-0123456789ab";

std::string b64u(const std::string& s) {
  std::string out = base64_encode(s);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string admin_jwt() {
  const std::string input = b64u(R"({"alg":"HS256"})") + "." +
                            b64u(R"({"sub":"tester","tenant":"default","roles":["admin"],"exp":4102444800})");
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, int(std::string(kSecret).size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  return input + "." + b64u(std::string(reinterpret_cast<char*>(mac), len));
}

struct Answer final : ResponseWriter {
  int status = 0;
  std::string body;
  void send(int s, const std::string&, const std::string& b, const std::map<std::string, std::string>&) override {
    status = s;
    body = b;
  }
  bool start(int s, const std::string&) override {
    status = s;
    return true;
  }
  bool write(const std::string& chunk) override {
    body += chunk;
    return true;
  }
  void finish() override {}
  void abort() override {}
};

// A temporary directory, removed with everything in it (also when a
// REQUIRE fails while the gateway is being set up).
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/soulbox-test-bodies-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct Gateway {
  // Members go in reverse order: the gateway first, nats-server, then its directory.
  TempDir dir;
  std::unique_ptr<bus::EmbeddedServer> nats;
  std::unique_ptr<client::Client> bus;
  std::unique_ptr<NodeDirectory> nodes;
  std::unique_ptr<AccessTokens> tokens;
  std::unique_ptr<JwtVerifier> jwt;
  std::unique_ptr<E2bGateway> api;

  Gateway() {
    auto server = bus::EmbeddedServer::start({dir.path + "/nats", "", 10000});
    REQUIRE(server.ok());
    nats = std::move(*server);
    auto connected = client::Client::connect({nats->url(), nats->user(), nats->password(), "bodies-test"});
    REQUIRE(connected.ok());
    bus = std::move(*connected);
    auto directory = NodeDirectory::start(bus->connection());
    REQUIRE(directory.ok());
    nodes = std::move(*directory);
    auto t = AccessTokens::load_or_create(dir.path + "/token.key");
    REQUIRE(t.ok());
    tokens = std::move(*t);
    JwtConfig config;
    config.hs256_secret = kSecret;
    auto v = JwtVerifier::load(config);
    REQUIRE(v.ok());
    jwt = std::move(*v);
    GatewayParts parts{*bus, *tokens, *nodes};
    parts.jwt = jwt.get();
    api = std::make_unique<E2bGateway>(parts, GatewayOptions{});
  }

  // A control-plane request as the system tenant's admin.
  Answer admin(const std::string& method, const std::string& path, const std::string& body) {
    HttpRequest req;
    req.method = method;
    req.path = req.target = path;
    req.headers["authorization"] = "Bearer " + admin_jwt();
    req.body = body;
    return handle(req);
  }
  // An in-sandbox (envd) request with the sandbox's access token.
  Answer envd(const std::string& path, const std::string& body) {
    HttpRequest req;
    req.method = "POST";
    req.path = req.target = path;
    req.headers["e2b-sandbox-id"] = kSandbox;
    req.headers["e2b-sandbox-port"] = "49983";
    req.headers["x-access-token"] = tokens->token_for(kSandbox);
    req.body = body;
    return handle(req);
  }
  Answer handle(const HttpRequest& req) {
    Answer out;
    CHECK_NOTHROW(api->handle(req, out));
    return out;
  }
};

// A Connect stream's refusal: 200, then an end frame with the error.
void check_stream_refused(const Answer& a, const std::string& words) {
  CHECK(a.status == 200);
  CHECK(a.body.find("invalid_argument") != std::string::npos);
  CHECK(a.body.find(words) != std::string::npos);
}

TEST_CASE("control-plane bodies with fields of the wrong type are a 400", "[gateway][fuzz]") {
  Gateway g;
  auto created = g.admin("POST", "/sandboxes", R"({"templateID":5})");
  CHECK(created.status == 400);
  CHECK(created.body.find("templateID") != std::string::npos);
  CHECK(g.admin("POST", "/sandboxes", R"({"autoPause":"yes"})").status == 400);
  auto upsert = g.admin("PUT", "/v1/tenants/acme", R"({"auditRedact":1})");
  CHECK(upsert.status == 400);
  CHECK(upsert.body.find("auditRedact") != std::string::npos);
  for (const char* body :
       {R"({"path":"a","user":1})", R"({"path":"a","operation":[]})", R"({"path":"a","single_use":"no"})"}) {
    CAPTURE(body);
    CHECK(g.admin("POST", std::string("/v1/sandboxes/") + kSandbox + "/files/sign", body).status == 400);
  }
}

TEST_CASE("job submissions with fields of the wrong type are refused naming the field", "[gateway][fuzz]") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"jobID":5,"language":"sh","code":"true"})", "jobID"},
      {R"({"language":7,"code":"true"})", "language"},
      {R"({"language":"sh","code":["true"]})", "code"},
      {R"({"command":"ls"})", "command"},
      {R"({"command":["ls",3]})", "command"},
      {R"({"command":["ls"],"stdin":false})", "stdin"},
      {R"({"command":["ls"],"artifacts":"out.txt"})", "artifacts"},
      {R"({"command":["ls"],"timeoutMs":"1s"})", "timeoutMs"},
  };
  for (const auto& [body, field] : cases) {
    CAPTURE(body);
    Result<client::JobSpec> job = Error{ErrorCode::internal, "not parsed"};
    CHECK_NOTHROW(job = job_from_json(nlohmann::json::parse(body)));
    REQUIRE(!job.ok());
    CHECK(job.error().code == ErrorCode::invalid_argument);
    CHECK(job.error().message.find(field) != std::string::npos);
  }
  auto fine =
      job_from_json(nlohmann::json::parse(R"({"jobID":"j-1","command":["ls"],"timeoutMs":5000,"artifacts":["a"]})"));
  REQUIRE(fine.ok());
  CHECK(fine->job_id == "j-1");
  CHECK(fine->timeout_ms == 5000);
  CHECK(fine->artifacts.size() == 1);
}

TEST_CASE("envd RPC bodies with fields of the wrong type are refused, never thrown", "[gateway][fuzz]") {
  Gateway g;
  for (const char* body : {R"({"path":7})", R"({"path":"/tmp","depth":"deep"})", R"({"path":"/tmp","depth":1e30})"}) {
    CAPTURE(body);
    CHECK(g.envd("/filesystem.Filesystem/ListDir", body).status == 400);
  }
  CHECK(g.envd("/filesystem.Filesystem/Move", R"({"source":"a","destination":false})").status == 400);
  CHECK(g.envd("/process.Process/SendInput", R"({"process":{"pid":1},"input":5})").status == 400);
  CHECK(g.envd("/process.Process/SendInput", R"({"process":{"pid":1},"input":{"stdin":5}})").status == 400);
  CHECK(g.envd("/process.Process/Update", R"({"process":{"pid":1},"pty":[]})").status == 400);
  CHECK(g.envd("/process.Process/Update", R"({"process":{"pid":1},"pty":{"size":{"rows":1e30}}})").status == 400);
  const std::string cmd = R"("process":{"cmd":"/bin/ls"})";
  check_stream_refused(g.envd("/process.Process/Start", connect_frame(R"({"process":{"cmd":5}})")), "cmd");
  check_stream_refused(g.envd("/process.Process/Start", connect_frame(R"({"process":{"cmd":"ls","cwd":1}})")), "cwd");
  check_stream_refused(g.envd("/process.Process/Start", connect_frame("{" + cmd + R"(,"stdin":"y"})")), "stdin");
  check_stream_refused(g.envd("/process.Process/Start", connect_frame("{" + cmd + R"(,"tag":7})")), "tag");
  check_stream_refused(g.envd("/process.Process/Start", connect_frame("{" + cmd + R"(,"pty":{"size":{"cols":"w"}}})")),
                       "cols");
  check_stream_refused(g.envd("/process.Process/Start", connect_frame(R"({"process":{"cmd":"ls","envs":["A=1"]}})")),
                       "envs");
  check_stream_refused(g.envd("/filesystem.Filesystem/WatchDir", connect_frame(R"({"path":"/tmp","recursive":"yes"})")),
                       "recursive");
}

}  // namespace
