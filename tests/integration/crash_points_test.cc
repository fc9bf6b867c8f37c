// What a crash at each step between a state change, its audit record and
// that record's publish leaves behind. soulboxd runs with one named crash
// point armed (SOULBOX_CRASH_AT, common/crash_point.h), dies there as with
// kill -9, and restarts on the same data: `soulboxd audit replay` must then
// find the audit log equal to the live state, and each sandbox's quota must
// have been given back exactly once (a double give-back hides in the live
// usage, which never goes below zero, so the test counts the tagged changes
// on the tenant's usage history).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "bus/jetstream.h"
#include "bus/subjects.h"
#include "client/jobs.h"
#include "tenants/tenant_record.h"
#include "tests/support/daemon_env.h"
#include "tests/support/eventually.h"
#include "tests/support/sandbox_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
namespace bp = busproto;
namespace subjects = bus::subjects;
using test::Daemon;

const std::vector<std::string> kArgs{"--jobs-workers", "0", "--pool-min", "0"};
const std::string kTenant = "crash-t";

using test::eventually;

Status upsert_tenant(client::Client& c) {
  auto r = c.call(subjects::tenant_op("upsert"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::TenantUpsert, bp::CreateTenantUpsert(fbb, fbb.CreateString(kTenant), 8).Union());
  });
  if (!r) return r.error();
  return {};
}

test::HostRun replay(const std::string& data_dir) {
  return test::run_host({test::daemon_build_dir() + "/soulboxd", "audit", "--data-dir", data_dir, "replay"});
}

// How many usage changes of the tenant carry each tag.
std::map<std::string, int> usage_changes(client::Client& c) {
  std::map<std::string, int> out;
  auto js = bus::JetStream::open(c.connection());
  REQUIRE(js.ok());
  auto all = (*js)->read_all(subjects::kEventsStream, subjects::usage_events(kTenant));
  REQUIRE(all.ok());
  for (const auto& m : *all) ++out[tenants::usage_change_of(m.data)];
  return out;
}

// Creates two sandboxes of the tenant and kills the second; the crash point
// fires somewhere on the way (the calls after it fail: nobody answers).
void work_until_the_crash(Daemon& d) {
  auto& c = d.client();
  c.timeout_ms = 5000;
  client::CreateOptions o;
  o.tenant = kTenant;
  auto first = c.create(o);
  if (!first) return;
  auto second = c.create(o);
  if (!second) return;
  (void)c.kill(second->id);
}

// `min_spent`: how many creates spent quota before the point was reached.
void crash_and_replay(const std::string& point, int min_spent = 1) {
  // A tenant with a quota, made before any point is armed.
  auto first = std::make_unique<Daemon>(kArgs);
  first->keep_root = true;
  const std::string root = first->root();
  REQUIRE(upsert_tenant(first->client()).ok());
  first.reset();

  Daemon crashing(kArgs, root, {"SOULBOX_CRASH_AT=" + point});
  crashing.keep_root = true;
  work_until_the_crash(crashing);
  INFO(crashing.output());
  REQUIRE(crashing.wait_killed(15000));
  CHECK(crashing.output().find("crash point " + point + " reached") != std::string::npos);

  Daemon restarted(kArgs, root);
  test::HostRun replayed;
  const bool equal = eventually(
      [&] {
        replayed = replay(restarted.data_dir());
        return replayed.exit_code == 0;
      },
      15000);
  INFO(replayed.out << replayed.err);
  CHECK(equal);
  CHECK(replayed.out.find("replay equals the live state") != std::string::npos);
  CHECK(replayed.out.find("tenant " + kTenant + ": 0 key(s), 0 secret(s), running 0") != std::string::npos);

  // Every spend went back once (at a sandbox's end, or undone for a create
  // that made none), and every change is tagged with its cause.
  int spent = 0, given_back = 0;
  for (const auto& [tag, n] : usage_changes(restarted.client())) {
    INFO("usage change tag '" << tag << "'");
    CHECK(n == 1);
    if (tag.rfind("start/", 0) == 0)
      spent += n;
    else if (tag.rfind("end/", 0) == 0 || tag.rfind("undo/", 0) == 0)
      given_back += n;
    else
      FAIL_CHECK("a usage change without a known tag");
  }
  CHECK(spent >= min_spent);
  CHECK(given_back == spent);
}

}  // namespace

TEST_CASE("a crash after a create recorded its quota intent, before it spent, is replayed equal",
          "[crash][audit][outbox]") {
  crash_and_replay("sandbox.create.before_spend", 0);
}

TEST_CASE("a crash after a create spent its quota, before its sandbox was recorded, gives it back once",
          "[crash][audit][outbox]") {
  crash_and_replay("sandbox.create.after_spend");
}

TEST_CASE("a crash after a sandbox's record and create event were written is replayed equal",
          "[crash][audit][outbox]") {
  crash_and_replay("sandbox.create.after_record");
}

TEST_CASE("a crash just before a sandbox's end is recorded is replayed equal", "[crash][audit][outbox]") {
  crash_and_replay("sandbox.end.before_record");
}

TEST_CASE("a crash after a sandbox's end and its event were written, before its quota went back, is replayed equal",
          "[crash][audit][outbox]") {
  crash_and_replay("sandbox.end.after_record");
}

TEST_CASE("a crash after a sandbox's quota went back, before its record said so, gives it back once",
          "[crash][audit][outbox]") {
  crash_and_replay("sandbox.end.after_release");
}

TEST_CASE("a crash after an audit record was stored, before it was published, is replayed equal",
          "[crash][audit][outbox]") {
  crash_and_replay("audit.append.after_store");
}

TEST_CASE("a crash right after an audit record was published is replayed equal", "[crash][audit][outbox]") {
  crash_and_replay("audit.append.after_publish");
}

namespace {

// The embedded nats-server soulboxd started (its child of that name).
pid_t nats_server_of(pid_t daemon) {
  std::ifstream children("/proc/" + std::to_string(daemon) + "/task/" + std::to_string(daemon) + "/children");
  pid_t child = 0;
  while (children >> child) {
    std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "nats-server") return child;
  }
  return 0;
}

}  // namespace

// docs/reliability.md: what a process crash (not a machine crash) may lose.
TEST_CASE("a kill -9 of soulboxd and its nats-server loses nothing either had acknowledged", "[crash][reliability]") {
  auto node = std::make_unique<Daemon>(kArgs);  // no job workers: the jobs wait in SB_JOBS
  node->keep_root = true;
  const std::string root = node->root();
  auto& c = node->client();
  REQUIRE(upsert_tenant(c).ok());
  client::CreateOptions o;
  o.tenant = kTenant;
  auto box = c.create(o);
  REQUIRE(box.ok());
  REQUIRE(c.kill(box->id).ok());
  auto pub = client::JobPublisher::open(c.connection());
  REQUIRE(pub.ok());
  constexpr int kJobs = 30;
  const std::string kJobTenant = "jobs-t";  // no tenant record: no API key needed
  for (int i = 0; i < kJobs; ++i) {
    client::JobSpec job;
    job.job_id = "acked-" + std::to_string(i);
    job.language = "sh";
    job.code = "echo " + std::to_string(i);
    auto ack = (*pub)->publish(kJobTenant, job);
    REQUIRE(ack.ok());
    REQUIRE(!ack->duplicate);
  }
  // Right after the last acknowledgement, with no pause: both processes die.
  const pid_t nats = nats_server_of(node->pid());
  REQUIRE(nats > 0);
  REQUIRE(::kill(nats, SIGKILL) == 0);
  pub->reset();
  node->kill9();
  node.reset();

  Daemon restarted({"--jobs-workers", "2", "--pool-min", "0"}, root);
  auto again = client::JobPublisher::open(restarted.client().connection());
  REQUIRE(again.ok());
  int done = 0;
  for (int i = 0; i < kJobs; ++i) {
    const std::string id = "acked-" + std::to_string(i);
    client::JobResultView result;
    const bool found = eventually(
        [&] {
          auto r = (*again)->lookup(kJobTenant, id);
          if (r) result = *r;
          return r.ok();
        },
        60000);
    INFO(id);
    CHECK(found);
    if (!found) continue;
    CHECK(result.out == std::to_string(i) + "\n");
    ++done;
  }
  CHECK(done == kJobs);
  // The tenant, its usage and the audit chain (create, kill) came through too.
  test::HostRun replayed;
  CHECK(eventually(
      [&] {
        replayed = replay(restarted.data_dir());
        return replayed.exit_code == 0;
      },
      15000));
  INFO(replayed.out << replayed.err);
  CHECK(replayed.out.find("tenant " + kTenant + ": 0 key(s), 0 secret(s), running 0, created 1") != std::string::npos);
}
