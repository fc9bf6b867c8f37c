// soulboxd end to end: the real daemon, its embedded nats-server, RocksDB
// and real sandboxes, driven through the C++ client over the bus.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "bus/subjects.h"
#include "tests/support/daemon_env.h"
#include "tests/support/eventually.h"
#include "tests/support/sandbox_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
namespace bp = busproto;
namespace subjects = bus::subjects;
using test::Daemon;

using test::eventually;

client::SandboxInfo create(Daemon& d, client::CreateOptions o = {}) {
  auto info = d.client().create(o);
  INFO((info ? "" : info.error().message));
  REQUIRE(info.ok());
  return *info;
}

ProcessSpec sh(const std::string& script) {
  ProcessSpec s;
  s.argv = {"/bin/sh", "-c", script};
  return s;
}

TEST_CASE("soulboxd creates a sandbox and streams a process's stdout and stderr over the bus", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  CHECK(info.node == d.node());
  CHECK(info.state == bp::SandboxState::Running);
  CHECK(info.expires_unix_ms > info.created_unix_ms);
  std::vector<std::pair<agentproto::Stream, std::string>> chunks;
  auto r = d.client().run(info.id, sh("echo out1; echo err1 >&2; sleep 0.2; echo out2; exit 3"), 20000,
                          [&](agentproto::Stream s, const std::string& data) { chunks.emplace_back(s, data); });
  REQUIRE(r.ok());
  CHECK(r->out == "out1\nout2\n");
  CHECK(r->err == "err1\n");
  CHECK(r->exit_code == 3);
  CHECK(chunks.size() >= 3);  // streamed as it came, not in one piece at the end
  auto py = d.client().run(info.id, ProcessSpec{{"python3", "-c", "print(6*7)"}, {}, "", "", false, {}, 0, 0, ""});
  REQUIRE(py.ok());
  CHECK(py->out == "42\n");
}

TEST_CASE("a process's output always arrives before its end", "[daemon][density]") {
  Daemon d;
  const auto info = create(d);
  // Processes that write and exit at once, of sizes around pipe and frame
  // boundaries: the end event must never overtake output still on its way.
  for (size_t size : {1, 4095, 4096, 65535, 65537, 1 << 20}) {
    for (int i = 0; i < 8; ++i) {
      INFO(size << " bytes, run " << i);
      auto r = d.client().run(info.id, sh("head -c " + std::to_string(size) + " /dev/zero | tr '\\0' x; printf E >&2"));
      REQUIRE(r.ok());
      CHECK(r->out.size() == size);
      CHECK(r->err == "E");
      CHECK(r->exit_code == 0);
    }
  }
}

TEST_CASE("stdin, signals and the process list go through the bus", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  ProcessSpec cat;
  cat.argv = {"/bin/cat"};
  cat.stdin_open = true;
  auto exec = d.client().start(info.id, cat);
  REQUIRE(exec.ok());
  REQUIRE(d.client().send_stdin(info.id, (*exec)->pid(), "hello ").ok());
  REQUIRE(d.client().send_stdin(info.id, (*exec)->pid(), "bus", true).ok());
  auto r = (*exec)->wait(10000);
  REQUIRE(r.ok());
  CHECK(r->out == "hello bus");

  ProcessSpec sleeper;
  sleeper.argv = {"/bin/sleep", "30"};
  sleeper.tag = "sleeper";
  auto sleeping = d.client().start(info.id, sleeper);
  REQUIRE(sleeping.ok());
  auto ps = d.client().processes(info.id);
  REQUIRE(ps.ok());
  bool listed = false;
  for (const auto& p : *ps) listed = listed || (p.pid == (*sleeping)->pid() && p.tag == "sleeper" && p.running);
  CHECK(listed);
  REQUIRE(d.client().signal(info.id, (*sleeping)->pid(), SIGTERM).ok());
  auto ended = (*sleeping)->wait(10000);
  REQUIRE(ended.ok());
  CHECK(ended->signal == SIGTERM);
  auto missing = d.client().signal(info.id, 99999, SIGTERM);
  CHECK(missing.error().code == ErrorCode::not_found);
}

TEST_CASE("files are written, read, listed, moved and removed over the bus", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto& c = d.client();
  const std::string big(3 << 20, 'z');  // several agent frames, one bus message
  REQUIRE(c.write_file(info.id, "/home/user/big.txt", big).ok());
  auto back = c.read_file(info.id, "/home/user/big.txt");
  REQUIRE(back.ok());
  CHECK(*back == big);
  REQUIRE(c.make_dir(info.id, "/home/user/d/e").ok());
  REQUIRE(c.write_file(info.id, "/home/user/d/e/f.txt", "x").ok());
  auto listing = c.list_dir(info.id, "/home/user/d", 3);
  REQUIRE(listing.ok());
  CHECK(listing->size() == 2);  // e and e/f.txt
  REQUIRE(c.rename(info.id, "/home/user/d/e/f.txt", "/home/user/g.txt").ok());
  auto st = c.stat(info.id, "/home/user/g.txt");
  REQUIRE(st.ok());
  CHECK(st->size == 1);
  REQUIRE(c.remove(info.id, "/home/user/d", true).ok());
  CHECK(c.stat(info.id, "/home/user/d").error().code == ErrorCode::not_found);
  // The sandbox user cannot write system files, and paths stay inside.
  CHECK(c.write_file(info.id, "/etc/passwd", "x").error().code == ErrorCode::permission_denied);
  auto shadow = c.read_file(info.id, "../../../../etc/hostname");
  REQUIRE(shadow.ok());
  CHECK(*shadow == "soulbox\n");  // the sandbox's own, not the host's
}

TEST_CASE("a watch streams file events over the bus until it is stopped", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto& c = d.client();
  REQUIRE(c.make_dir(info.id, "/home/user/w").ok());
  auto w = c.watch(info.id, "/home/user/w", true);
  REQUIRE(w.ok());
  REQUIRE(c.write_file(info.id, "/home/user/w/new.txt", "1").ok());
  bool seen = false;
  for (int i = 0; i < 10 && !seen; ++i) {
    auto ev = (*w)->next(5000);
    REQUIRE(ev.ok());
    seen = ev->first.find("new.txt") != std::string::npos;
  }
  CHECK(seen);
  REQUIRE(c.unwatch(info.id, (*w)->id()).ok());
  CHECK(c.unwatch(info.id, (*w)->id()).error().code == ErrorCode::not_found);
}

// The kernel charges every sandbox's inotify instances to host root, whose
// limit all sandboxes share (128 by default): an idle one must hold none.
TEST_CASE("a sandbox holds an inotify instance only while it has a watch", "[daemon][density]") {
  Daemon d({"--pool-min", "0"});
  const auto info = create(d);
  auto& c = d.client();
  const auto pids = test::sandbox_pids(info.id);
  REQUIRE(pids.size() == 1);  // the agent
  auto inotify_instances = [&] {
    int n = 0;
    std::error_code ec;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pids[0]) + "/fd", ec))
      n += std::filesystem::read_symlink(fd.path(), ec).string() == "anon_inode:inotify";
    return n;
  };
  CHECK(inotify_instances() == 0);
  REQUIRE(c.make_dir(info.id, "/home/user/w").ok());
  auto w = c.watch(info.id, "/home/user/w", false);
  REQUIRE(w.ok());
  CHECK(inotify_instances() == 1);
  auto second = c.watch(info.id, "/home/user", false);
  REQUIRE(second.ok());
  CHECK(inotify_instances() == 1);  // one instance for all of the sandbox's watches
  REQUIRE(c.unwatch(info.id, (*w)->id()).ok());
  CHECK(inotify_instances() == 1);
  REQUIRE(c.unwatch(info.id, (*second)->id()).ok());
  CHECK(inotify_instances() == 0);
}

TEST_CASE("a process on a pty gets a terminal and can be resized", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  ProcessSpec first = sh("stty size; tty");
  first.pty = std::make_pair(uint16_t(24), uint16_t(80));
  auto initial = d.client().run(info.id, first);
  REQUIRE(initial.ok());
  CHECK(initial->out.find("24 80") != std::string::npos);
  CHECK(initial->out.find("/dev/pts/") != std::string::npos);
  ProcessSpec spec = sh("read line; stty size; echo got:$line");
  spec.pty = std::make_pair(uint16_t(24), uint16_t(80));
  spec.stdin_open = true;
  auto exec = d.client().start(info.id, spec);
  REQUIRE(exec.ok());
  REQUIRE(d.client().resize(info.id, (*exec)->pid(), 40, 120).ok());
  REQUIRE(d.client().send_stdin(info.id, (*exec)->pid(), "abc\n").ok());
  auto r = (*exec)->wait(10000);
  REQUIRE(r.ok());
  CHECK(r->out.find("40 120") != std::string::npos);
  CHECK(r->out.find("got:abc") != std::string::npos);
}

TEST_CASE("a sandbox past its timeout is killed and the reason is recorded", "[daemon]") {
  Daemon d;
  client::CreateOptions o;
  o.timeout_ms = 800;
  const auto info = create(d, o);
  auto pids = test::sandbox_pids(info.id);
  REQUIRE_FALSE(pids.empty());
  // The record is closed last, after the processes, mounts and cgroup are gone.
  std::vector<client::SandboxInfo> ended;
  CHECK(eventually([&] {
    auto l = d.client().list(d.node(), {bp::SandboxState::Terminated});
    if (l.ok()) ended = *l;
    return !ended.empty();
  }));
  for (pid_t p : pids) CHECK_FALSE(test::process_exists(p));
  CHECK_FALSE(std::filesystem::exists(test::sandbox_cgroup_dir("pids", info.id)));
  CHECK_FALSE(d.client().info(info.id).ok());
  REQUIRE(ended.size() == 1);
  CHECK(ended.front().id == info.id);
  CHECK(ended.front().end_reason == "timeout");
}

TEST_CASE("auto-pause freezes a sandbox at its timeout and resume brings it back", "[daemon]") {
  Daemon d;
  client::CreateOptions o;
  o.timeout_ms = 800;
  o.auto_pause = true;
  const auto info = create(d, o);
  REQUIRE(d.client().write_file(info.id, "/home/user/state.txt", "kept").ok());
  CHECK(eventually([&] {
    auto i = d.client().info(info.id);
    return i.ok() && i->state == bp::SandboxState::Paused;
  }));
  auto refused = d.client().run(info.id, sh("true"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::unavailable);
  auto resumed = d.client().resume(info.id);
  REQUIRE(resumed.ok());
  CHECK(resumed->state == bp::SandboxState::Running);
  auto r = d.client().run(info.id, sh("cat /home/user/state.txt"));
  REQUIRE(r.ok());
  CHECK(r->out == "kept");
}

TEST_CASE("pause freezes every process of the sandbox and resume thaws them", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto counter = d.client().start(info.id, sh("while :; do echo x >> /tmp/ticks; sleep 0.05; done"));
  REQUIRE(counter.ok());
  std::this_thread::sleep_for(200ms);
  auto paused = d.client().pause(info.id);
  REQUIRE(paused.ok());
  CHECK(paused->state == bp::SandboxState::Paused);
  const std::string freezer = test::sandbox_cgroup_dir("freezer", info.id);
  std::ifstream state(std::filesystem::exists(freezer + "/freezer.state") ? freezer + "/freezer.state"
                                                                          : freezer + "/cgroup.freeze");
  std::string frozen;
  state >> frozen;
  CHECK((frozen == "FROZEN" || frozen == "1"));
  REQUIRE(d.client().resume(info.id).ok());
  auto before = d.client().run(info.id, sh("wc -l < /tmp/ticks"));
  std::this_thread::sleep_for(300ms);
  auto after = d.client().run(info.id, sh("wc -l < /tmp/ticks"));
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  CHECK(std::stoi(after->out) > std::stoi(before->out));  // running again
}

TEST_CASE("refreshing the timeout keeps a sandbox alive, up to the node's maximum", "[daemon]") {
  Daemon d({"--max-lifetime", "60"});
  client::CreateOptions o;
  o.timeout_ms = 1000;
  const auto info = create(d, o);
  auto refreshed = d.client().set_timeout(info.id, 30000);
  REQUIRE(refreshed.ok());
  CHECK(refreshed->expires_unix_ms > info.expires_unix_ms + 20000);
  std::this_thread::sleep_for(1500ms);
  CHECK(d.client().info(info.id).ok());  // the first timeout has passed
  auto capped = d.client().set_timeout(info.id, 3600000);
  REQUIRE(capped.ok());
  CHECK(capped->expires_unix_ms <= capped->created_unix_ms + 60000);
  CHECK(d.client().set_timeout(info.id, 0).error().code == ErrorCode::invalid_argument);
}

TEST_CASE("metrics are sampled every second and queried by time range", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto burner = d.client().start(info.id, sh("python3 -c 'b = bytearray(64 << 20); import time; t = time.time()\n"
                                             "while time.time() - t < 4: pass'"));
  REQUIRE(burner.ok());
  std::vector<bp::MetricsSample> samples;
  CHECK(eventually([&] {
    auto m = d.client().metrics(info.id);
    if (m.ok()) samples = *m;
    return samples.size() >= 3;
  }));
  REQUIRE(samples.size() >= 3);
  const auto& last = samples.back();
  CHECK(last.memory_bytes() > (60ull << 20));
  CHECK(last.memory_percent() > 5);
  // The busiest sample, not the last: on a loaded machine the burner may
  // get less of a CPU in any one second.
  float busiest = 0;
  for (const auto& sample : samples) busiest = std::max(busiest, sample.cpu_percent());
  CHECK(busiest > 10);
  CHECK(last.processes() >= 2);
  for (size_t i = 1; i < samples.size(); ++i) CHECK(samples[i].unix_ms() > samples[i - 1].unix_ms());
  auto recent = d.client().metrics(info.id, samples.back().unix_ms(), 0);
  REQUIRE(recent.ok());
  CHECK(recent->size() >= 1);
  CHECK(recent->size() < samples.size());
}

TEST_CASE("the warm pool serves matching creates and counts hits and misses", "[daemon]") {
  Daemon d({"--pool-min", "2", "--pool-max", "4"});
  auto warm = [&] {
    auto s = d.client().pool_stats(d.node());
    return s.ok() && !s->empty() ? s->front().warm : 0u;
  };
  REQUIRE(eventually([&] { return warm() == 2; }));
  const auto hit = create(d);
  CHECK(hit.pool_hit);
  client::CreateOptions other;
  other.memory_bytes = 256ull << 20;
  const auto miss = create(d, other);
  CHECK_FALSE(miss.pool_hit);
  CHECK(miss.memory_bytes == 256ull << 20);
  auto r = d.client().run(miss.id, sh("cat /sys/fs/cgroup/memory.max 2>/dev/null || echo v1"));
  REQUIRE(r.ok());
  CHECK(eventually([&] { return warm() == 2; }));  // refilled in the background
  auto stats = d.client().pool_stats(d.node());
  REQUIRE(stats.ok());
  CHECK(stats->front().hits == 1);
  CHECK(stats->front().misses == 1);
  CHECK(stats->front().acquire_p50_us > 0);
  CHECK(stats->front().strategy == "fixed");
}

TEST_CASE("placement picks a node from heartbeats and refuses constraints nobody meets", "[daemon]") {
  Daemon d({"--region", "eu-test"});
  auto& c = d.client();
  REQUIRE(eventually([&] { return c.place({}).ok(); }));
  CHECK(*c.place({}) == d.node());
  client::CreateOptions far;
  far.region = "mars";
  auto refused = c.place(far);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::resource_exhausted);
  client::CreateOptions labelled;
  labelled.node_selector = {{"gpu", "yes"}};
  CHECK(c.place(labelled).error().code == ErrorCode::resource_exhausted);
  client::CreateOptions huge;
  huge.memory_bytes = 1ull << 50;
  CHECK(c.place(huge).error().code == ErrorCode::resource_exhausted);
  client::CreateOptions here;
  here.region = "eu-test";
  const auto info = create(d, here);  // placed, then created on that node
  CHECK(info.node == d.node());
  auto health = c.health(d.node());
  REQUIRE(health.ok());
  CHECK(health->status == "healthy");
  CHECK(health->sandboxes >= 1);
  CHECK(health->memory_free_bytes < health->memory_capacity_bytes);
}

TEST_CASE("malformed and unknown requests get error replies and the node keeps serving", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto& c = d.client();
  auto& bus = c.connection();
  auto code_of = [&](const std::string& subject, const std::string& payload) {
    auto reply = bus.request(subject, payload, 5000);
    REQUIRE(reply.ok());
    auto r = bp::open_reply(*reply);
    REQUIRE(r.ok());
    return ErrorCode((*r)->code());
  };
  CHECK(code_of(subjects::node_op(d.node(), "create"), "garbage") == ErrorCode::protocol_error);
  CHECK(code_of(subjects::sandbox_op(info.id, "exec"), std::string(64, '\0')) == ErrorCode::protocol_error);
  // A valid envelope with a wrong body, an unknown op, a bad events token.
  CHECK(c.call(subjects::sandbox_op(info.id, "exec"), {}).error().code == ErrorCode::invalid_argument);
  CHECK(c.call(subjects::sandbox_op(info.id, "frobnicate"), {}).error().code == ErrorCode::invalid_argument);
  CHECK(c.call(subjects::node_op(d.node(), "frobnicate"), {}).error().code == ErrorCode::invalid_argument);
  auto bad_token = c.call(subjects::sandbox_op(info.id, "exec"), [](flatbuffers::FlatBufferBuilder& b) {
    auto start = agentproto::CreateProcStart(b, b.CreateVectorOfStrings(std::vector<std::string>{"/bin/true"}));
    return std::make_pair(bp::Body::ExecStart, bp::CreateExecStart(b, start, b.CreateString("a.>")).Union());
  });
  CHECK(bad_token.error().code == ErrorCode::invalid_argument);
  client::CreateOptions bad;
  bad.node = d.node();
  bad.template_name = "nope";
  CHECK(c.create(bad).error().code == ErrorCode::not_found);
  bad.template_name = "base";
  bad.memory_bytes = 1024;
  CHECK(c.create(bad).error().code == ErrorCode::invalid_argument);
  // A request whose deadline has passed is refused, not run.
  flatbuffers::FlatBufferBuilder fbb;
  bp::FinishEnvelopeBuffer(fbb, bp::CreateEnvelope(fbb, fbb.CreateString("late"), 0, 0, 1000, 0, bp::Body::SandboxRef,
                                                   bp::CreateSandboxRef(fbb).Union()));
  CHECK(code_of(subjects::sandbox_op(info.id, "info"), bp::finish(fbb)) == ErrorCode::timeout);
  auto r = c.run(info.id, sh("echo still here"));
  REQUIRE(r.ok());
  CHECK(r->out == "still here\n");
  CHECK(c.health(d.node()).ok());
}

TEST_CASE("random bytes on every subject are refused and counted and nothing stops serving", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto& bus = d.client().connection();
  std::mt19937 rng(1234);
  std::vector<std::string> subjects_to_hit = {subjects::sched_place(), subjects::node_heartbeat("ghost")};
  for (const char* op : {"create", "health", "list", "pool", "nope"})
    subjects_to_hit.push_back(subjects::node_op(d.node(), op));
  for (const char* op : {"exec", "stdin", "read", "write", "watch", "timeout", "metrics", "kill", "pause", "ls"})
    subjects_to_hit.push_back(subjects::sandbox_op(info.id, op));
  // A real envelope cut short, and random bytes of random sizes (some with a valid identifier).
  flatbuffers::FlatBufferBuilder fbb;
  bp::FinishEnvelopeBuffer(fbb, bp::CreateEnvelope(fbb, fbb.CreateString("cut"), 0, 0, 0, 0, bp::Body::SandboxRef,
                                                   bp::CreateSandboxRef(fbb).Union()));
  const std::string whole = bp::finish(fbb);
  int sent = 0;
  for (const auto& subject : subjects_to_hit) {
    for (int i = 0; i < 10; ++i) {
      std::string junk(size_t(rng() % 300), '\0');
      for (auto& ch : junk) ch = char(rng());
      if (i % 3 == 0 && junk.size() >= 8) junk.replace(4, 4, "SBE1");
      if (i == 9) junk = whole.substr(0, whole.size() / 2);
      REQUIRE(bus.publish(subject, junk).ok());
      ++sent;
    }
  }
  REQUIRE(bus.flush(5000).ok());
  auto r = d.client().run(info.id, sh("echo alive"));
  REQUIRE(r.ok());
  CHECK(r->out == "alive\n");
  auto health = d.client().health(d.node());
  REQUIRE(health.ok());
  CHECK(health->status == "healthy");
  CHECK(health->bad_messages >= uint64_t(sent) / 2);  // the sandbox ops it did not kill or pause first
  CHECK(d.client().info(info.id)->state == bp::SandboxState::Running);
}

// A create of tenant-a with the given request id; the sandbox id it got.
std::string create_with_id(Daemon& d, const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = bp::CreateCreateSandbox(fbb, fbb.CreateString("base"));
  bp::FinishEnvelopeBuffer(fbb, bp::CreateEnvelope(fbb, fbb.CreateString(request_id), fbb.CreateString("tenant-a"), 0,
                                                   0, 0, bp::Body::CreateSandbox, body.Union()));
  auto reply = d.client().connection().request(subjects::node_op(d.node(), "create"), bp::finish(fbb), 10000);
  REQUIRE(reply.ok());
  auto r = bp::open_reply(*reply);
  REQUIRE(r.ok());
  REQUIRE((*r)->code() == 0);
  return (*r)->body_as_SandboxCreated()->info()->id()->str();
}

bool listed_as_terminated(Daemon& d, const std::string& id) {
  auto ended = d.client().list(d.node(), {bp::SandboxState::Terminated});
  REQUIRE(ended.ok());
  return std::any_of(ended->begin(), ended->end(), [&](const auto& s) { return s.id == id; });
}

TEST_CASE("a repeated create request gets the sandbox the first one made", "[daemon]") {
  Daemon d;
  const std::string first = create_with_id(d, "retry-me");
  // Another tenant cannot reach it.
  auto foreign = d.client().call(subjects::sandbox_op(first, "info"), {}, "tenant-b");
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().code == ErrorCode::permission_denied);
  CHECK(create_with_id(d, "retry-me") == first);
  CHECK(create_with_id(d, "another") != first);
  auto live = d.client().list(d.node());
  REQUIRE(live.ok());
  CHECK(live->size() == 2);
}

TEST_CASE("an ended sandbox is listed until its retention passes and is then forgotten with its create request",
          "[daemon]") {
  Daemon d({"--ended-sandbox-retention", "3"});
  const std::string id = create_with_id(d, "keep-me");
  REQUIRE(d.client().kill(id).ok());
  CHECK(listed_as_terminated(d, id));
  CHECK(create_with_id(d, "keep-me") == id);  // within the retention: still the first one's
  CHECK(test::eventually([&] { return !listed_as_terminated(d, id); }, 10000));
  // Its request key went with it: the same request id now makes a sandbox.
  const std::string again = create_with_id(d, "keep-me");
  CHECK(again != id);
  CHECK(d.client().info(again).ok());
}

TEST_CASE("kill ends a sandbox on request and leaves nothing behind", "[daemon]") {
  Daemon d;
  const auto info = create(d);
  auto sleeping = d.client().start(info.id, sh("sleep 60"));
  REQUIRE(sleeping.ok());
  const auto pids = test::sandbox_pids(info.id);
  REQUIRE(pids.size() >= 2);
  auto killed = d.client().kill(info.id);
  REQUIRE(killed.ok());
  CHECK(killed->state == bp::SandboxState::Terminated);
  CHECK(killed->end_reason == "request");
  auto waited = (*sleeping)->wait(5000);
  CHECK(waited.error().code == ErrorCode::unavailable);  // told the sandbox ended
  for (pid_t p : pids) CHECK_FALSE(test::process_exists(p));
  CHECK_FALSE(std::filesystem::exists(test::sandbox_cgroup_dir("pids", info.id)));
  CHECK_FALSE(std::filesystem::exists(d.data_dir() + "/sandboxes/" + info.id));
  CHECK(d.client().info(info.id).error().code == ErrorCode::unavailable);  // nobody serves it any more
}

TEST_CASE("soulboxd killed with SIGKILL leaves nothing behind and a restart closes the records", "[daemon]") {
  std::string root;
  std::vector<std::string> ids;
  std::vector<pid_t> pids;
  const size_t host_mounts = test::host_mount_count();
  {
    Daemon d({"--pool-min", "1"});
    d.keep_root = true;
    root = d.root();
    for (int i = 0; i < 2; ++i) {
      const auto info = create(d);
      REQUIRE(d.client().start(info.id, sh("sleep 600")).ok());
      ids.push_back(info.id);
      for (pid_t p : test::sandbox_pids(info.id)) pids.push_back(p);
    }
    REQUIRE(pids.size() >= 4);
    d.kill9();
  }
  // The launcher reads EOF and destroys every sandbox: processes, cgroups
  // and scratch dirs go without waiting for a restart.
  CHECK(eventually([&] {
    for (pid_t p : pids)
      if (test::process_exists(p)) return false;
    for (const auto& id : ids)
      if (std::filesystem::exists(test::sandbox_cgroup_dir("pids", id))) return false;
    return true;
  }));
  for (const auto& id : ids) CHECK_FALSE(std::filesystem::exists(root + "/data/sandboxes/" + id));
  Daemon again({"--pool-min", "1"}, root);
  CHECK(again.output().find("closed 2 sandbox record(s)") != std::string::npos);
  auto live = again.client().list(again.node());
  REQUIRE(live.ok());
  CHECK(live->empty());
  auto ended = again.client().list(again.node(), {bp::SandboxState::Terminated});
  REQUIRE(ended.ok());
  CHECK(ended->size() == 2);
  for (const auto& s : *ended) CHECK(s.end_reason == "node restart");
  for (const auto& id : ids) {
    CHECK_FALSE(std::filesystem::exists(test::sandbox_cgroup_dir("pids", id)));
    CHECK_FALSE(std::filesystem::exists(root + "/data/sandboxes/" + id));
  }
  // The restarted node works.
  const auto info = create(again);
  auto r = again.client().run(info.id, sh("echo back"));
  REQUIRE(r.ok());
  CHECK(r->out == "back\n");
  CHECK(test::host_mount_count() == host_mounts);  // sandbox mounts never reach the host's table
}

TEST_CASE("SIGTERM ends every sandbox with reason node shutdown", "[daemon]") {
  Daemon d;
  d.keep_root = true;
  const auto info = create(d);
  const auto pids = test::sandbox_pids(info.id);
  CHECK(d.stop() == 0);
  for (pid_t p : pids) CHECK_FALSE(test::process_exists(p));
  Daemon again({}, d.root());
  again.keep_root = false;
  auto ended = again.client().list(again.node(), {bp::SandboxState::Terminated});
  REQUIRE(ended.ok());
  REQUIRE(ended->size() == 1);
  CHECK(ended->front().end_reason == "node shutdown");
}

}  // namespace

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Runs `soulboxd audit verify --file` on `lines`; returns its output.
test::HostRun verify_lines(const std::string& root, const std::vector<std::string>& lines) {
  const std::string file = root + "/tampered.jsonl";
  std::ofstream out(file, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
  out.close();
  return test::run_host(
      {test::daemon_build_dir() + "/soulboxd", "audit", "--data-dir", root + "/data", "verify", "--file", file});
}

TEST_CASE("every action on a sandbox is audited, signed, on SB_AUDIT, and tampering is caught", "[daemon][audit]") {
  std::string root;
  std::vector<std::string> streamed;
  {
    Daemon d;
    d.keep_root = true;
    root = d.root();
    auto& bus = d.client().connection();
    std::mutex mu;
    auto sub = bus.subscribe("sb.v1.audit.events.>", "", [&](bus::Message m) {
      std::lock_guard<std::mutex> lock(mu);
      streamed.push_back(m.data);
    });
    REQUIRE(sub.ok());
    REQUIRE(bus.flush(2000).ok());
    const auto info = create(d);
    REQUIRE(d.client().write_file(info.id, "/home/user/a.txt", "secret-free").ok());
    REQUIRE(d.client().read_file(info.id, "/home/user/a.txt").ok());
    REQUIRE(d.client().run(info.id, sh("true")).ok());
    REQUIRE(d.client().pause(info.id).ok());
    REQUIRE(d.client().resume(info.id).ok());
    REQUIRE(d.client().kill(info.id).ok());
    CHECK(eventually([&] {
      std::lock_guard<std::mutex> lock(mu);
      return streamed.size() >= 7;  // the sandbox's events
    }));
    sub->reset();
    CHECK(d.stop() == 0);  // writes the final checkpoint
  }
  auto exported =
      test::run_host({test::daemon_build_dir() + "/soulboxd", "audit", "--data-dir", root + "/data", "export"});
  REQUIRE(exported.exit_code == 0);
  const auto lines = lines_of(exported.out);
  REQUIRE(lines.size() >= 9);
  // First the embedded default's bootstrap tenant and key, then the sandbox's life.
  const std::vector<std::string> actions = {"tenant.upsert", "key.create",     "sandbox.create",
                                            "file.write",    "file.read",      "process.start",
                                            "sandbox.pause", "sandbox.resume", "sandbox.kill"};
  for (size_t i = 0; i < actions.size(); ++i) {
    INFO(lines[i]);
    CHECK(lines[i].find("\"action\":\"" + actions[i] + "\"") != std::string::npos);
  }
  // The same records went to the stream: every one of the sandbox's, and
  // nothing else (the bootstrap's may have gone before this test subscribed
  // or, on a slow run, just after).
  const std::set<std::string> exported_set(lines.begin(), lines.end());
  const std::set<std::string> streamed_set(streamed.begin(), streamed.end());
  CHECK(streamed_set.size() == streamed.size());  // each once
  for (const auto& record : streamed) CHECK(exported_set.count(record) == 1);
  for (size_t i = 2; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(streamed_set.count(lines[i]) == 1);
  }
  auto ok = test::run_host({test::daemon_build_dir() + "/soulboxd", "audit", "--data-dir", root + "/data", "verify"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(verify_lines(root, lines).exit_code == 0);

  auto edited = lines;
  edited[2].replace(edited[2].find("\"result\":\"ok\""), 13, "\"result\":\"no\"");
  auto r = verify_lines(root, edited);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("index 2") != std::string::npos);
  auto deleted = lines;
  deleted.erase(deleted.begin() + 3);
  CHECK(verify_lines(root, deleted).out.find("index 3") != std::string::npos);
  auto reordered = lines;
  std::swap(reordered[4], reordered[5]);
  CHECK(verify_lines(root, reordered).out.find("index 4") != std::string::npos);
  auto truncated = lines;
  truncated.resize(5);
  auto t = verify_lines(root, truncated);
  CHECK(t.exit_code == 1);
  CHECK(t.out.find("index 5") != std::string::npos);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

}  // namespace

namespace {
size_t thread_count(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
    ++n;
  return n;
}
}  // namespace

// Every sandbox subscribes to its own subjects; nats.c gave each
// subscription a delivery thread of its own, so soulboxd's threads grew
// with its sandboxes (1,331 threads at 1,299 sandboxes).
TEST_CASE("soulboxd's threads do not grow with its sandboxes", "[daemon][density]") {
  Daemon d({"--pool-min", "0", "--cpu-capacity", "1000", "--jobs-workers", "0"});
  client::CreateOptions small;
  small.memory_bytes = 32ull << 20;
  create(d, small);
  const size_t with_one = thread_count(d.pid());
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(create(d, small).id);
  const size_t with_many = thread_count(d.pid());
  INFO("threads with 1 sandbox: " << with_one << ", with 41: " << with_many);
  CHECK(with_many <= with_one + 2);
  for (const auto& id : ids) CHECK(d.client().kill(id).ok());
}

namespace {

// "Max open files  <soft>  <hard>  files" of /proc/<pid>/limits.
std::pair<std::string, std::string> open_file_limits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream row(line.substr(14));
      std::string soft, hard;
      row >> soft >> hard;
      return {soft, hard};
    }
  return {};
}

pid_t launcher_of(pid_t daemon) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.find("(soulbox-launch)") == std::string::npos) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == daemon) return pid_t(std::stol(e.path().filename().string()));
  }
  return -1;
}

// The cap soulboxd printed ("density: this node can hold N sandboxes; ...").
std::string density_line(const std::string& output) {
  const size_t at = output.find("soulboxd: density: ");
  return at == std::string::npos ? std::string() : output.substr(at, output.find('\n', at) - at);
}

// The N of "... can hold N sandboxes; capped by <limit> (<value>); raise it
// with <remedy>", and that limit; N is 0 when the line has another shape.
// (No std::regex: GCC 12 warns about its internals under the sanitizers.)
std::pair<size_t, std::string> density_cap(const std::string& line) {
  const std::string head = "soulboxd: density: this node can hold ", mid = " sandboxes; capped by ";
  if (line.rfind(head, 0) != 0) return {0, ""};
  const size_t digits_end = line.find_first_not_of("0123456789", head.size());
  const size_t by = line.find(mid, head.size());
  const size_t remedy = line.find("); raise it with ", by);
  const size_t open = remedy == std::string::npos ? remedy : line.rfind(" (", remedy);
  if (digits_end == head.size() || by != digits_end || open == std::string::npos || open < by) return {0, ""};
  return {std::stoul(line.substr(head.size(), digits_end - head.size())),
          line.substr(by + mid.size(), open - by - mid.size())};
}

}  // namespace

TEST_CASE("soulboxd prints at start-up how many sandboxes the node can hold and what caps it", "[daemon][density]") {
  Daemon d({"--pool-min", "0", "--jobs-workers", "0"});
  const std::string line = density_line(d.output());
  INFO(d.output());
  const auto [sandboxes, limit] = density_cap(line);
  CHECK(sandboxes > 0);
  CHECK_FALSE(limit.empty());
  // Sandboxes hold file descriptors in soulboxd and its launcher: both run
  // with the soft limit at the hard one.
  const auto daemon_limits = open_file_limits(d.pid());
  CHECK(daemon_limits.first == daemon_limits.second);
  const pid_t launcher = launcher_of(d.pid());
  REQUIRE(launcher > 0);
  CHECK(open_file_limits(launcher) == daemon_limits);
}

// The node used to check the pty pool alone (384 sandboxes at the kernel's
// defaults), whatever else ran out first.
TEST_CASE("a create past the node's density cap is refused naming the limit and its remedy", "[daemon][density]") {
  // soulboxd keeps 1024 descriptors for itself and needs 2 per sandbox: a hard
  // limit of 1080 caps it at about 25 sandboxes (whatever the host's sysctls).
  auto d = std::make_unique<Daemon>(
      std::vector<std::string>{"--pool-min", "0", "--jobs-workers", "0", "--cpu-capacity", "1000"}, "",
      std::vector<std::string>{}, 1080);
  const std::string line = density_line(d->output());
  INFO(line);
  const auto [limit, name] = density_cap(line);
  REQUIRE(name == "RLIMIT_NOFILE of soulboxd");
  REQUIRE(limit > 0);
  REQUIRE(limit < 40);
  client::CreateOptions small;
  small.memory_bytes = 32ull << 20;
  small.node = d->node();
  std::vector<std::string> ids;
  for (size_t i = 0; i < limit; ++i) ids.push_back(create(*d, small).id);
  auto refused = d->client().create(small);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::resource_exhausted);
  CHECK(refused.error().message.find("holds " + std::to_string(limit) +
                                     " sandboxes, all that RLIMIT_NOFILE of "
                                     "soulboxd (1080) allows; raise it with LimitNOFILE=") != std::string::npos);
  // Room again once one ends.
  REQUIRE(d->client().kill(ids.back()).ok());
  ids.pop_back();
  CHECK(eventually([&] {
    auto again = d->client().create(small);
    if (again) ids.push_back(again->id);
    return again.ok();
  }));
  for (const auto& id : ids) CHECK(d->client().kill(id).ok());
}
