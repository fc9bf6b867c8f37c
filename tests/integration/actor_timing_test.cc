// Actor timers on CAF's deterministic test scheduler: lifetimes, auto-pause,
// refresh and pool refills are checked by advancing the actors' clock, not
// by waiting, against real sandboxes and a real nats-server. Also how a
// sandbox actor ends a sandbox whose agent floods its channel.
#include <sys/socket.h>

#include <atomic>
#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/pool_actor.h"
#include "actors/sandbox_actor.h"
#include "bus/embedded_server.h"
#include "bus/subjects.h"
#include "isolation/cgroup.h"
#include "tests/support/daemon_env.h"

namespace {

using namespace soulbox;
using namespace soulbox::actors;
using namespace std::chrono_literals;
namespace bp = busproto;
namespace fs = std::filesystem;

// Everything the actors need, made once per process: the launcher must be
// forked before nats.c starts its threads.
struct Env {
  std::string root;
  std::unique_ptr<isolation::LauncherClient> launcher;
  std::unique_ptr<bus::EmbeddedServer> nats;
  std::unique_ptr<bus::Connection> bus;
  std::unique_ptr<AgentIo> agent_io;
  std::unique_ptr<isolation::CgroupDriver> cgroups;

  Env() {
    char tmpl[] = "/tmp/soulbox-test-actors-XXXXXX";
    root = ::mkdtemp(tmpl);
    fs::permissions(root, fs::perms(0755));
    isolation::RuntimeOptions o;
    o.data_dir = root + "/data";
    o.run_dir = root + "/run";
    o.cgroup_parent = "soulbox-test";
    o.agent_path = test::daemon_build_dir() + "/soulbox-agent";
    launcher = std::move(*isolation::LauncherClient::spawn(o));
    nats = std::move(*bus::EmbeddedServer::start({root + "/nats", "", 10000}));
    bus = std::move(*bus::Connection::connect({nats->url(), nats->user(), nats->password(), "actor-tests"}));
    AgentIoLimits io_limits;
    io_limits.max_frames_per_second = 20000;  // a flood test below reaches it even under ASan
    agent_io = std::move(*AgentIo::start(io_limits));
    cgroups = std::move(*isolation::detect_cgroup_driver(o.cgroup_root, o.cgroup_parent));
  }
  ~Env() {
    agent_io.reset();
    bus.reset();
    nats.reset();
    launcher.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::shared_ptr<NodeContext> context() {
    auto ctx = std::make_shared<NodeContext>();
    ctx->bus = bus.get();
    ctx->launcher = launcher.get();
    ctx->agent_io = agent_io.get();
    ctx->cgroups = cgroups.get();
    ctx->store = nullptr;
    return ctx;
  }
};

Env& env() {
  static Env e;
  return e;
}

// An actor system whose scheduler and clock the test drives.
struct Deterministic {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  Deterministic() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
  void run() { sched->run(); }
  void advance(caf::timespan t) {
    sched->clock().advance_time(t);
    sched->run();
  }
};

template <class State>
State& state_of(const caf::actor& a) {
  return dynamic_cast<caf::stateful_actor<State>&>(*caf::actor_cast<caf::abstract_actor*>(a)).state;
}

// Collects what sandbox actors report to their node.
caf::behavior recorder(caf::event_based_actor*, std::shared_ptr<std::vector<std::string>> ended) {
  return {[=](ended_atom, const std::string& id, const std::string& reason) { ended->push_back(id + ":" + reason); }};
}

struct SandboxUnderTest {
  Deterministic d;
  std::shared_ptr<std::vector<std::string>> ended = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<NodeContext> ctx = env().context();
  caf::actor sandbox;
  std::string id;

  // `prepare` may change the sandbox before its actor takes it.
  explicit SandboxUnderTest(SandboxSettings s, const std::function<void(isolation::RemoteSandbox&)>& prepare = {}) {
    auto box = env().launcher->create({});
    REQUIRE(box.ok());
    if (prepare) prepare(*box);
    id = box->id;
    s.id = id;
    s.memory_bytes = isolation::Limits().memory_bytes;
    ctx->store = store();
    auto node = d.sys->spawn(recorder, ended);
    sandbox = d.sys->spawn(sandbox_actor, ctx, node, s,
                           SandboxHandle{std::make_shared<isolation::RemoteSandbox>(std::move(*box)), 0});
    caf::anon_send(sandbox, start_atom::value, std::string(), std::string("r1"), false);
    d.run();
    REQUIRE(state().state == bp::SandboxState::Running);
  }
  ~SandboxUnderTest() {
    if (ended->empty()) {
      caf::anon_send(sandbox, stop_atom::value, std::string("request"));
      d.run();
    }
  }
  SandboxActorState& state() { return state_of<SandboxActorState>(sandbox); }
  static storage::Store* store() {
    static auto s = storage::Store::open({env().root + "/state"});
    return s->get();
  }
  void send_op(const std::string& op, const std::function<void(flatbuffers::FlatBufferBuilder&)>& finish) {
    flatbuffers::FlatBufferBuilder fbb;
    finish(fbb);
    caf::anon_send(sandbox, bus_atom::value, bus::Message{bus::subjects::sandbox_op(id, op), "", bp::finish(fbb)});
    d.run();
  }
};

TEST_CASE("a sandbox ends when its lifetime passes on the actors' clock, not before", "[actors]") {
  SandboxSettings s;
  s.timeout_ms = 300000;
  SandboxUnderTest t(s);
  const auto pids = test::sandbox_pids(t.id);
  REQUIRE_FALSE(pids.empty());
  t.d.advance(299s);
  CHECK(t.state().state == bp::SandboxState::Running);
  CHECK(t.state().metrics.size() >= 1);  // the 1 s sampler ran on the same clock
  t.d.advance(2s);
  REQUIRE(t.ended->size() == 1);
  CHECK(t.ended->front() == t.id + ":timeout");
  for (pid_t p : pids) CHECK_FALSE(test::process_exists(p));
}

TEST_CASE("auto-pause freezes at the deadline and a paused sandbox never expires", "[actors]") {
  SandboxSettings s;
  s.timeout_ms = 60000;
  s.auto_pause = true;
  SandboxUnderTest t(s);
  t.d.advance(61s);
  CHECK(t.state().state == bp::SandboxState::Paused);
  auto usage = t.state().cgroup->usage();
  REQUIRE(usage.ok());
  t.d.advance(std::chrono::hours(2));
  CHECK(t.state().state == bp::SandboxState::Paused);
  CHECK(t.ended->empty());
}

TEST_CASE("a refresh moves the deadline and cancels the old one", "[actors]") {
  SandboxSettings s;
  s.timeout_ms = 60000;
  SandboxUnderTest t(s);
  t.d.advance(30s);
  t.send_op("timeout", [](flatbuffers::FlatBufferBuilder& b) {
    bp::FinishEnvelopeBuffer(b, bp::CreateEnvelope(b, b.CreateString("r2"), 0, 0, 0, 0, bp::Body::SetTimeout,
                                                   bp::CreateSetTimeout(b, 600000).Union()));
  });
  t.d.advance(60s);  // the first deadline has passed
  CHECK(t.state().state == bp::SandboxState::Running);
  t.d.advance(541s);
  REQUIRE(t.ended->size() == 1);
  CHECK(t.ended->front() == t.id + ":timeout");
}

// CAF keeps the receiver of a delayed message alive until it is delivered:
// an expiry timer armed for the whole lifetime kept every killed sandbox's
// actor (~1.4 KiB) in memory until its lifetime would have passed (the
// soak's heap profile: 4917 of them after 90 s of sandboxes with a 120 s
// timeout).
TEST_CASE("a killed sandbox actor is freed within seconds and not when its lifetime would have passed", "[actors]") {
  SandboxSettings s;
  s.timeout_ms = 3600000;
  SandboxUnderTest t(s);
  const caf::actor_addr addr = t.sandbox.address();
  caf::anon_send(t.sandbox, stop_atom::value, std::string("request"));
  t.d.run();
  REQUIRE(t.ended->size() == 1);
  t.sandbox = nullptr;
  t.d.advance(2s);
  CHECK(caf::actor_cast<caf::actor>(addr) == nullptr);
}

TEST_CASE("the pool fills to its minimum and refills after an acquire only once its delay passed", "[actors]") {
  Deterministic d;
  PoolSettings settings;
  PoolConfig base;
  base.min_warm = 2;
  base.max_size = 4;
  settings.pools = {base};
  settings.creator_thread = false;
  auto pool = d.sys->spawn(pool_actor, env().context(), settings);
  d.run();
  auto& st = state_of<PoolActorState>(pool);
  REQUIRE(st.templates.front().warm.size() == 2);
  caf::scoped_actor self{*d.sys};
  auto reply = self->request(pool, caf::infinite, acquire_atom::value, AcquireRequest{});
  d.run();
  CHECK(st.templates.front().warm.size() == 1);  // taken; the refill waits
  CHECK(st.templates.front().hits == 1);
  d.advance(10ms);
  CHECK(st.templates.front().warm.size() == 2);
  bool hit = false;
  std::string acquired;
  reply.receive(
      [&](const AcquireResult& r) {
        hit = r.pool_hit;
        acquired = r.handle.box->id;
      },
      [&](caf::error&) {});
  CHECK(hit);
  (void)env().launcher->destroy(acquired);
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  d.run();
}

TEST_CASE("a sandbox whose agent floods its channel is ended as broken", "[actors]") {
  // The actor reads a socketpair whose other end this test writes, standing
  // in for a compromised agent. The real agent keeps its own channel open
  // (held here) and is ended with the sandbox.
  unique_fd real_channel, hostile;
  SandboxUnderTest t(SandboxSettings{}, [&](isolation::RemoteSandbox& box) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    real_channel = std::move(box.channel);
    box.channel.reset(sv[0]);
    hostile.reset(sv[1]);
  });
  const auto pids = test::sandbox_pids(t.id);
  REQUIRE_FALSE(pids.empty());
  // Small valid frames, as fast as they go; bounded (64 MiB) in case the
  // host never cuts it off. The writes fail once the actor closes its end.
  std::atomic<bool> stop{false};
  std::thread flooder([&, fd = hostile.get()] {
    flatbuffers::FlatBufferBuilder fbb;
    auto body = agentproto::CreateHello(fbb, agentproto::kProtocolVersion, fbb.CreateString("flood"));
    agentproto::FinishFrameBuffer(fbb, agentproto::CreateFrame(fbb, 99, agentproto::Body::Hello, body.Union()));
    std::string chunk;
    while (chunk.size() < (64u << 10)) chunk += agentproto::encode_frame(fbb);
    size_t at = 0;  // into chunk: partial writes must not break the framing
    for (size_t sent = 0; sent < (64u << 20) && !stop;) {
      const ssize_t n = ::send(fd, chunk.data() + at, chunk.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += size_t(n);
        at = (at + size_t(n)) % chunk.size();
      } else if (errno == EAGAIN || errno == EINTR) {
        std::this_thread::sleep_for(1ms);
      } else {
        return;
      }
    }
  });
  for (int i = 0; i < 3000 && t.ended->empty(); ++i) {  // at most 30 s
    t.d.run();
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  flooder.join();
  REQUIRE(t.ended->size() == 1);
  CHECK(t.ended->front() == t.id + ":agent broken");
  for (pid_t p : pids) CHECK_FALSE(test::process_exists(p));
}

}  // namespace
