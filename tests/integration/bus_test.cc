// bus/ against a real nats-server started the embedded way. A binary of its
// own: nats.c runs threads, and sandboxes are only launched from
// single-threaded processes.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "bus/bus_roles.h"
#include "bus/connection.h"
#include "bus/embedded_server.h"
#include "bus/jetstream.h"
#include "bus/loopback_port.h"
#include "bus/subjects.h"
#include "tests/support/eventually.h"

using namespace soulbox;
using namespace soulbox::bus;

namespace {

// A temporary directory removed when the fixture goes, even when the
// fixture's own constructor fails a REQUIRE (its destructor would not run).
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/soulbox-test-bus-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

struct ServerFixture {
  TempDir dir;
  std::unique_ptr<EmbeddedServer> server;
  ServerFixture() {
    auto s = EmbeddedServer::start({dir.path + "/nats", "", 10000});
    INFO((s ? "" : s.error().message));
    REQUIRE(s.ok());
    server = std::move(*s);
  }
  std::unique_ptr<Connection> connect() {
    auto c = Connection::connect({server->url(), server->user(), server->password(), "test", 2000, 200});
    INFO((c ? "" : c.error().message));
    REQUIRE(c.ok());
    return std::move(*c);
  }
};

using soulbox::test::eventually;

}  // namespace

TEST_CASE("the embedded server listens on loopback with generated credentials", "[bus]") {
  ServerFixture f;
  CHECK_THAT(f.server->url(), Catch::StartsWith("nats://127.0.0.1:"));
  CHECK(f.server->password().size() == 48);
  auto anonymous = Connection::connect({f.server->url(), "", "", "anon", 1000, 100});
  REQUIRE_FALSE(anonymous.ok());
  CHECK(anonymous.error().code == ErrorCode::permission_denied);
  auto wrong = Connection::connect({f.server->url(), "soulbox", "guess", "anon", 1000, 100});
  CHECK_FALSE(wrong.ok());
  auto c = f.connect();
  CHECK(c->connected());
  // The password is not on the command line, where any local user could read it.
  std::ifstream cmdline("/proc/" + std::to_string(f.server->pid()) + "/cmdline");
  std::string args(std::istreambuf_iterator<char>(cmdline), {});
  CHECK(args.find(f.server->password()) == std::string::npos);
  struct stat st {};
  REQUIRE(::stat((f.dir.path + "/nats/nats-server.conf").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("the embedded server's port lies below the ephemeral range", "[bus]") {
  // So that no outgoing connection can hold it while a dead server restarts.
  ServerFixture f;
  const auto [low, high] = ephemeral_port_range();
  CHECK(low <= high);
  CHECK(f.server->port() >= 1024);
  CHECK(f.server->port() < low);
}

TEST_CASE("a port taken before the server binds it makes start-up choose another", "[bus]") {
  TempDir dir;
  // A stand-in for nats-server that loses the race once (printing what the
  // real one prints), then runs the real server.
  const std::string fake = dir.path + "/nats-server";
  std::ofstream(fake) << "#!/bin/sh\n"
                      << "marker=\"$(dirname \"$2\")/lost-once\"\n"
                      << "if [ ! -e \"$marker\" ]; then touch \"$marker\"\n"
                      << "  echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 1; fi\n"
                      << "exec /usr/sbin/nats-server \"$@\"\n";
  REQUIRE(::chmod(fake.c_str(), 0700) == 0);
  auto s = EmbeddedServer::start({dir.path + "/nats", fake, 10000});
  INFO((s ? "" : s.error().message));
  REQUIRE(s.ok());
  CHECK(std::filesystem::exists(dir.path + "/nats/lost-once"));
  auto c = Connection::connect({(*s)->url(), (*s)->user(), (*s)->password(), "test", 2000, 200});
  CHECK(c.ok());
}

TEST_CASE("a server that fails for another reason is not retried", "[bus]") {
  TempDir dir;
  const std::string fake = dir.path + "/nats-server";
  std::ofstream(fake) << "#!/bin/sh\necho run >> \"$(dirname \"$2\")/runs\"\necho 'bad config'\nexit 1\n";
  REQUIRE(::chmod(fake.c_str(), 0700) == 0);
  auto s = EmbeddedServer::start({dir.path + "/nats", fake, 5000});
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("exited during start-up"));
  std::ifstream runs(dir.path + "/nats/runs");
  std::string all(std::istreambuf_iterator<char>(runs), {});
  CHECK(all == "run\n");
}

TEST_CASE("request and reply carry binary payloads", "[bus]") {
  ServerFixture f;
  auto server_side = f.connect();
  auto client = f.connect();
  auto sub = server_side->subscribe("sb.v1.test.echo", "",
                                    [&](Message m) { (void)server_side->publish(m.reply, "echo:" + m.data); });
  REQUIRE(sub.ok());
  REQUIRE(server_side->flush(2000).ok());
  const std::string payload("\0\1binary\xff", 10);
  auto reply = client->request("sb.v1.test.echo", payload, 2000);
  REQUIRE(reply.ok());
  CHECK(*reply == "echo:" + payload);
  auto nobody = client->request("sb.v1.test.nobody", "x", 500);
  REQUIRE_FALSE(nobody.ok());
  CHECK(nobody.error().code == ErrorCode::unavailable);  // no responders, answered at once
}

TEST_CASE("a queue group delivers each message to one member", "[bus]") {
  ServerFixture f;
  auto a = f.connect();
  auto b = f.connect();
  std::atomic<int> got_a{0}, got_b{0};
  auto sa = a->subscribe("sb.v1.sched.place", "schedulers", [&](Message) { ++got_a; });
  auto sb = b->subscribe("sb.v1.sched.place", "schedulers", [&](Message) { ++got_b; });
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  REQUIRE(a->flush(2000).ok());
  REQUIRE(b->flush(2000).ok());
  auto pub = f.connect();
  for (int i = 0; i < 200; ++i) REQUIRE(pub->publish("sb.v1.sched.place", "x").ok());
  REQUIRE(pub->flush(2000).ok());
  CHECK(eventually([&] { return got_a + got_b == 200; }));
  CHECK(got_a > 0);
  CHECK(got_b > 0);
}

TEST_CASE("a killed nats-server is restarted and clients reconnect", "[bus]") {
  ServerFixture f;
  auto c = f.connect();
  const pid_t first = f.server->pid();
  ::kill(first, SIGKILL);
  CHECK(eventually([&] { return !c->connected(); }, 5000));
  // The client can see the socket close before the dead server can be
  // reaped; soulboxd asks every second, so ask until it is (or fails).
  Result<bool> restarted = false;
  CHECK(eventually(
      [&] {
        restarted = f.server->ensure_running();
        return !restarted.ok() || *restarted;
      },
      5000));
  INFO((restarted ? "" : restarted.error().message));
  REQUIRE(restarted.ok());
  CHECK(*restarted);
  CHECK(f.server->pid() != first);
  CHECK(eventually([&] { return c->connected(); }));
  // nats.c reports the reconnect on its callback thread, after the status flips.
  CHECK(eventually([&] { return c->reconnects() >= 1; }));
  auto sub = c->subscribe("sb.v1.test.after", "", [&](Message m) { (void)c->publish(m.reply, "ok"); });
  REQUIRE(sub.ok());
  REQUIRE(c->flush(2000).ok());
  auto other = f.connect();
  auto reply = other->request("sb.v1.test.after", "", 2000);
  REQUIRE(reply.ok());
  CHECK(*reply == "ok");
  auto again = f.server->ensure_running();
  REQUIRE(again.ok());
  CHECK_FALSE(*again);  // alive: nothing to do
}

TEST_CASE("the node's JetStream streams are created once", "[bus]") {
  ServerFixture f;
  auto c = f.connect();
  CHECK_FALSE(*c->stream_exists(subjects::kJobsStream));
  REQUIRE(ensure_node_streams(*c).ok());
  for (const char* name : {subjects::kJobsStream, subjects::kEventsStream, subjects::kAuditStream})
    CHECK(*c->stream_exists(name));
  REQUIRE(ensure_node_streams(*c).ok());  // idempotent
}

TEST_CASE("subject tokens from clients are validated", "[bus]") {
  CHECK(subjects::valid_token("sb-0123_ab"));
  for (const char* bad : {"", "a.b", "*", ">", "a b", "a\nb", "sb.>"}) CHECK_FALSE(subjects::valid_token(bad));
  CHECK_FALSE(subjects::check_token("sandbox id", std::string(65, 'x')).ok());
  CHECK(subjects::sandbox_op("sb-1", "exec") == "sb.v1.sbx.sb-1.exec");
  CHECK(subjects::sandbox_events("sb-1", "stdout") == "sb.v1.sbx.sb-1.ev.stdout");
  CHECK(subjects::node_heartbeats() == "sb.v1.nodes.hb.*");
  CHECK(subjects::jobs("acme") == "sb.v1.jobs.acme");
}

TEST_CASE("a missing nats-server binary gets a clear error", "[bus]") {
  auto s = EmbeddedServer::start({"/tmp/soulbox-test-bus-none", "/nonexistent/nats-server", 1000});
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("apt-get install nats-server"));
}

namespace {

std::unique_ptr<Connection> connect_as(const EmbeddedServer& server, BusRole role) {
  const auto creds = server.credentials(role);
  ConnectOptions o{server.url(), creds.user, creds.password, std::string("test-") + role_name(role), 2000, 200};
  o.inbox_prefix = creds.inbox_prefix;
  auto c = Connection::connect(o);
  INFO((c ? "" : c.error().message));
  REQUIRE(c.ok());
  return std::move(*c);
}

// Messages a subscription receives within a short wait after `send` ran.
int received_after(Connection& listener, const std::string& subject, const std::function<void()>& send) {
  std::atomic<int> got{0};
  auto sub = listener.subscribe(subject, "", [&](Message) { ++got; });
  if (!sub) return -1;  // refused at once: nothing can arrive
  (void)listener.flush(2000);
  send();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return got.load();
}

}  // namespace

TEST_CASE("each bus role holds only its own rights: publishers and gateways cannot write SB_EVENTS or serve requests",
          "[bus][roles]") {
  ServerFixture f;
  auto node = connect_as(*f.server, BusRole::node);
  REQUIRE(ensure_node_streams(*node).ok());
  auto node_js = JetStream::open(*node);
  REQUIRE(node_js.ok());
  auto publisher = connect_as(*f.server, BusRole::publisher);
  auto gateway = connect_as(*f.server, BusRole::gateway);
  const std::string forged = R"({"v":1,"name":"evil","keys":{"k1":{"hash":"chosen","roles":["admin"]}}})";

  // Neither may store a tenant record (or an audit record) in a stream.
  for (Connection* c : {publisher.get(), gateway.get()}) {
    (void)c->publish(subjects::tenant_events("evil"), forged);
    (void)c->publish("sb.v1.audit.events.node1", "{}");
    (void)c->flush(2000);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto stored = (*node_js)->last_message(subjects::kEventsStream, subjects::tenant_events("evil"));
  REQUIRE(stored.ok());
  CHECK_FALSE(stored->has_value());
  auto audit = (*node_js)->last_message(subjects::kAuditStream, "sb.v1.audit.events.node1");
  REQUIRE(audit.ok());
  CHECK_FALSE(audit->has_value());
  // A node may.
  REQUIRE(node->publish(subjects::tenant_events("fine"), R"({"v":1,"name":"fine"})").ok());
  CHECK(eventually([&] {
    auto last = (*node_js)->last_message(subjects::kEventsStream, subjects::tenant_events("fine"));
    return last.ok() && last->has_value();
  }));

  // Neither may answer requests meant for nodes, schedulers or tenant services.
  for (const std::string& subject : {subjects::node_op("node1", "create"), subjects::sched_place(),
                                     subjects::tenant_op("auth"), subjects::sandbox_op("sbx1", "exec")}) {
    INFO(subject);
    for (Connection* c : {publisher.get(), gateway.get()})
      CHECK(received_after(*c, subject, [&] { (void)node->publish(subject, "request"); }) <= 0);
    CHECK(received_after(*node, subject, [&] { (void)gateway->publish(subject, "request"); }) == 1);
  }
  // Publishers may not send requests to nodes; gateways may.
  CHECK(received_after(*node, subjects::node_op("node1", "create"),
                       [&] { (void)publisher->publish(subjects::node_op("node1", "create"), "x"); }) == 0);

  // A publisher publishes jobs (acknowledged through its own inbox) and sees
  // no one else's replies.
  auto jobs = JetStream::open(*publisher);
  REQUIRE(jobs.ok());
  CHECK((*jobs)->publish(subjects::jobs("t1"), "job", "job-1").ok());
  CHECK(received_after(*publisher, "_INBOX_gateway.>", [&] { (void)node->publish("_INBOX_gateway.x", "reply"); }) <= 0);
  CHECK(received_after(*publisher, "_INBOX.>", [&] { (void)node->publish("_INBOX.x", "reply"); }) <= 0);
  CHECK(received_after(*publisher, "results.run1.>", [&] { (void)node->publish("results.run1.j1", "result"); }) == 1);
  // A gateway's request gets its answer through its own inbox.
  auto responder = node->subscribe("sb.v1.node.node1.health", "", [&](Message m) {
    if (!m.reply.empty()) (void)node->publish(m.reply, "healthy");
  });
  REQUIRE(responder.ok());
  REQUIRE(node->flush(2000).ok());
  auto answer = gateway->request("sb.v1.node.node1.health", "?", 2000);
  REQUIRE(answer.ok());
  CHECK(*answer == "healthy");
}

TEST_CASE("a restarted embedded server keeps its port and every role's password", "[bus][roles]") {
  TempDir dir;
  int port = 0;
  std::map<std::string, std::string> passwords;
  {
    auto s = EmbeddedServer::start({dir.path + "/nats", "", 10000});
    REQUIRE(s.ok());
    port = (*s)->port();
    for (BusRole role : kAllRoles) passwords[role_name(role)] = (*s)->credentials(role).password;
  }
  struct stat st {};
  REQUIRE(::stat((dir.path + "/nats/identity.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = EmbeddedServer::start({dir.path + "/nats", "", 10000});
  REQUIRE(again.ok());
  CHECK((*again)->port() == port);
  for (BusRole role : kAllRoles) CHECK((*again)->credentials(role).password == passwords[role_name(role)]);
  CHECK(connect_as(**again, BusRole::publisher)->connected());
}
