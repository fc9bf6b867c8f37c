// Jobs on JetStream end to end: real soulboxd processes, their nats-server,
// real sandboxes. Services publish ExecuteJobs; each job gets one result,
// and runs at least once (again, with a higher attempt, when its node dies).
#include "client/jobs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "bus/subjects.h"
#include "jobs/jobs_service.h"
#include "tests/support/daemon_env.h"
#include "tests/support/eventually.h"
#include "tests/support/sandbox_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
using test::Daemon;

using test::eventually;

// Every result published to results.<run>.>, by job id.
struct ResultInbox {
  std::mutex mu;
  std::multimap<std::string, client::JobResultView> results;
  size_t bad = 0;
  std::unique_ptr<bus::Subscription> sub;

  ResultInbox(bus::Connection& bus, const std::string& prefix) {
    auto s = bus.subscribe(prefix + ".>", "", [this](bus::Message m) {
      auto r = client::decode_job_result(m.data);
      std::lock_guard<std::mutex> lock(mu);
      if (r)
        results.emplace(r->job_id, *r);
      else
        ++bad;
    });
    REQUIRE(s.ok());
    sub = std::move(*s);
    REQUIRE(bus.flush(2000).ok());
  }
  size_t distinct() {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (auto it = results.begin(); it != results.end(); it = results.upper_bound(it->first)) ++n;
    return n;
  }
  // Results that ran the job (not stored ones sent again).
  size_t originals(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    auto range = results.equal_range(id);
    for (auto it = range.first; it != range.second; ++it) n += !it->second.duplicate;
    return n;
  }
  // Every result of the job is the same stored one (copies differ only in `duplicate`).
  bool consistent(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    auto range = results.equal_range(id);
    for (auto it = range.first; it != range.second; ++it) {
      const auto& a = range.first->second;
      const auto& b = it->second;
      if (a.out != b.out || a.attempts != b.attempts || a.node != b.node || a.status != b.status) return false;
    }
    return range.first != range.second;
  }
  client::JobResultView first(const std::string& id) {  // an empty view (attempts 0) if none came
    std::lock_guard<std::mutex> lock(mu);
    auto it = results.find(id);
    return it == results.end() ? client::JobResultView{} : it->second;
  }
};

client::JobSpec shell_job(const std::string& id, const std::string& script, const std::string& reply) {
  client::JobSpec j;
  j.job_id = id;
  j.language = "sh";
  j.code = script;
  j.reply_subject = reply;
  return j;
}

TEST_CASE("published jobs run in sandboxes and their results come back once each", "[jobs]") {
  Daemon d({"--jobs-workers", "2"});
  auto& bus = d.client().connection();
  ResultInbox inbox(bus, "results.basic");
  auto pub = client::JobPublisher::open(bus);
  REQUIRE(pub.ok());
  for (int i = 0; i < 10; ++i) {
    auto ack = (*pub)->publish("t1", shell_job("sq-" + std::to_string(i), "echo $((" + std::to_string(i) + " * 2))",
                                               "results.basic.sq-" + std::to_string(i)));
    REQUIRE(ack.ok());
    CHECK_FALSE(ack->duplicate);
  }
  client::JobSpec py;
  py.job_id = "py-files";
  py.language = "python";
  py.code =
      "import sys\ndata = open('in.txt').read()\nopen('out.txt', 'w').write(data.upper())\n"
      "print(sys.stdin.read()[::-1])\nsys.exit(3)\n";
  py.files = {{"in.txt", "shout"}};
  py.stdin_data = "olleh";
  py.artifacts = {"out.txt"};
  py.reply_subject = "results.basic.py-files";
  REQUIRE((*pub)->publish("t1", py).ok());
  REQUIRE(eventually([&] { return inbox.distinct() == 11; }, 60000));
  for (int i = 0; i < 10; ++i) {
    const std::string id = "sq-" + std::to_string(i);
    CHECK(inbox.originals(id) == 1);
    auto r = inbox.first(id);
    CHECK(r.status == "completed");
    CHECK(r.out == std::to_string(i * 2) + "\n");
    CHECK(r.exit_code == 0);
    CHECK(r.tenant == "t1");
    CHECK(r.node == d.node());
  }
  auto r = inbox.first("py-files");
  CHECK(r.exit_code == 3);
  CHECK(r.out == "hello\n");
  REQUIRE(r.artifacts.size() == 1);
  CHECK(r.artifacts[0].second == "SHOUT");
  auto looked = (*pub)->lookup("t1", "py-files");
  REQUIRE(looked.ok());
  CHECK(looked->exit_code == 3);
  CHECK((*pub)->lookup("t1", "never-published").error().code == ErrorCode::not_found);
  CHECK(inbox.bad == 0);
}

TEST_CASE("a job published again runs once and the stored result is sent again", "[jobs]") {
  Daemon d({"--jobs-workers", "2"});
  auto& bus = d.client().connection();
  ResultInbox inbox(bus, "results.dup");
  auto pub = client::JobPublisher::open(bus);
  REQUIRE(pub.ok());
  const auto job = shell_job("once", "date +%s%N", "results.dup.once");
  REQUIRE((*pub)->publish("t1", job).ok());
  auto again = (*pub)->publish("t1", job);  // same Nats-Msg-Id: the stream drops it
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  REQUIRE(eventually([&] { return inbox.distinct() == 1; }));
  // Past the dedup window the stream would take it: publish under another
  // message id to see the node answer from the stored result.
  auto js = bus::JetStream::open(bus);
  REQUIRE(js.ok());
  REQUIRE((*js)->publish(bus::subjects::jobs("t1"), client::encode_job("t1", job), "once-later").ok());
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lock(inbox.mu);
    return inbox.results.size() == 2;
  }));
  CHECK(inbox.originals("once") == 1);
  std::lock_guard<std::mutex> lock(inbox.mu);
  auto range = inbox.results.equal_range("once");
  const std::string first_out = range.first->second.out;
  for (auto it = range.first; it != range.second; ++it) CHECK(it->second.out == first_out);  // same run
}

TEST_CASE("a job's environment carries its id, idempotency key and attempt, which its publisher cannot set", "[jobs]") {
  Daemon d({"--jobs-workers", "2"});
  auto& bus = d.client().connection();
  ResultInbox inbox(bus, "results.env");
  auto pub = client::JobPublisher::open(bus);
  REQUIRE(pub.ok());
  auto job = shell_job("env-1", "echo \"$SOULBOX_JOB_ID $SOULBOX_JOB_IDEMPOTENCY_KEY $SOULBOX_JOB_ATTEMPT $GREETING\"",
                       "results.env.env-1");
  job.env = {{"GREETING", "hi"}};
  REQUIRE((*pub)->publish("t1", job).ok());
  // A publisher's own value would let a job believe it is a first attempt
  // (or share another job's key): such a job is refused, not run.
  auto forged_attempt = shell_job("env-forged-attempt", "echo ran", "results.env.env-forged-attempt");
  forged_attempt.env = {{"SOULBOX_JOB_ATTEMPT", "1"}};
  REQUIRE((*pub)->publish("t1", forged_attempt).ok());
  auto forged_key = shell_job("env-forged-key", "echo ran", "results.env.env-forged-key");
  forged_key.env = {{"SOULBOX_JOB_IDEMPOTENCY_KEY", "t2.other"}};
  REQUIRE((*pub)->publish("t1", forged_key).ok());
  REQUIRE(eventually([&] { return inbox.distinct() == 3; }, 60000));
  auto r = inbox.first("env-1");
  CHECK(r.status == "completed");
  CHECK(r.out == "env-1 t1.env-1 1 hi\n");
  CHECK(r.attempts == 1);
  for (const std::string id : {"env-forged-attempt", "env-forged-key"}) {
    INFO(id);
    auto forged = inbox.first(id);
    CHECK(forged.status == "failed");
    CHECK(forged.error_code == ErrorCode::invalid_argument);
    CHECK(forged.error_message.find("SOULBOX_JOB_") != std::string::npos);
    CHECK(forged.out.empty());
  }
}

TEST_CASE("malformed jobs land on the dead-letter subject and bad reply subjects are refused", "[jobs]") {
  Daemon d({"--jobs-workers", "1"});
  auto& bus = d.client().connection();
  std::atomic<int> dead{0};
  auto sub = bus.subscribe(bus::subjects::job_dead_letter("t1"), "", [&](bus::Message) { ++dead; });
  REQUIRE(sub.ok());
  REQUIRE(bus.flush(2000).ok());
  auto js = bus::JetStream::open(bus);
  REQUIRE(js.ok());
  REQUIRE((*js)->publish(bus::subjects::jobs("t1"), "not a flatbuffer", "garbage-1").ok());
  CHECK(eventually([&] { return dead == 1; }));
  auto pub = client::JobPublisher::open(bus);
  REQUIRE((*pub)->publish("t1", shell_job("sneaky", "echo hi", "sb.v1.sbx.victim.kill")).ok());
  client::JobResultView r;
  REQUIRE(eventually([&] {
    auto l = (*pub)->lookup("t1", "sneaky");
    if (l.ok()) r = *l;
    return l.ok();
  }));
  CHECK(r.status == "failed");
  CHECK(r.error_code == ErrorCode::invalid_argument);
  client::JobSpec bad_language = shell_job("cobol", "DISPLAY 'HI'", "results.x.cobol");
  bad_language.language = "cobol";
  REQUIRE((*pub)->publish("t1", bad_language).ok());
  REQUIRE(eventually([&] { return (*pub)->lookup("t1", "cobol").ok(); }));
  CHECK((*pub)->lookup("t1", "cobol")->error_message.find("unknown language") != std::string::npos);
}

TEST_CASE("jobs held by a node killed with SIGKILL run again elsewhere and each has one result", "[jobs]") {
  const std::vector<std::string> common = {"--job-ack-wait", "2", "--job-max-deliver", "5"};
  Daemon a({"--jobs-workers", "2", "--job-ack-wait", "2", "--job-max-deliver", "5"});
  std::vector<std::string> b_args = a.join_args();
  b_args.insert(b_args.end(), {"--node-id", "node-b", "--jobs-workers", "3"});
  b_args.insert(b_args.end(), common.begin(), common.end());
  auto b = std::make_unique<Daemon>(b_args);
  auto& bus = a.client().connection();
  ResultInbox inbox(bus, "results.kill");
  auto pub = client::JobPublisher::open(bus);
  REQUIRE(pub.ok());
  const int n = 150;
  for (int i = 0; i < n; ++i) {
    const std::string id = "k-" + std::to_string(i);
    REQUIRE((*pub)
                ->publish("t1", shell_job(id, "sleep 0.05; echo " + id + " $SOULBOX_JOB_ATTEMPT", "results.kill." + id))
                .ok());
  }
  REQUIRE(eventually([&] { return inbox.distinct() >= 30; }, 60000));
  b->kill9();  // mid-run: it holds jobs that are never acked
  b.reset();
  REQUIRE(eventually([&] { return inbox.distinct() == size_t(n); }, 90000));
  size_t by_b = 0, ran_on_redelivery = 0;
  for (int i = 0; i < n; ++i) {
    const std::string id = "k-" + std::to_string(i);
    // One result: never two original results, and every copy the same. A
    // node killed between storing a result and publishing it leaves only
    // the stored copy, sent by the next delivery (marked duplicate).
    INFO(id);
    CHECK(inbox.originals(id) <= 1);
    CHECK(inbox.consistent(id));
    auto r = inbox.first(id);
    CHECK(r.attempts >= 1);
    CHECK(r.out == id + " " + std::to_string(r.attempts) + "\n");  // the attempt the job saw is the result's
    by_b += r.node == "node-b";
    ran_on_redelivery += r.attempts > 1;
  }
  CHECK(by_b > 0);  // both nodes worked
  // Node b died holding jobs: they ran again on a later delivery (whether
  // their code had started on b is not visible here; the attempt says it may have).
  CHECK(ran_on_redelivery > 0);
  CHECK(inbox.bad == 0);
}

TEST_CASE("a job that keeps dying with its node stops after max deliveries on the dead-letter subject", "[jobs]") {
  const std::vector<std::string> common = {"--job-ack-wait", "1", "--job-max-deliver", "2"};
  std::vector<std::string> a_args = {"--jobs-workers", "0"};
  a_args.insert(a_args.end(), common.begin(), common.end());
  Daemon a(a_args);  // the bus, no workers
  auto& bus = a.client().connection();
  std::atomic<int> dead{0};
  auto sub = bus.subscribe(bus::subjects::job_dead_letter("t1"), "", [&](bus::Message) { ++dead; });
  REQUIRE(sub.ok());
  REQUIRE(bus.flush(2000).ok());
  auto worker_args = [&](const std::string& id) {
    std::vector<std::string> args = a.join_args();
    args.insert(args.end(), {"--node-id", id, "--jobs-workers", "1"});
    args.insert(args.end(), common.begin(), common.end());
    return args;
  };
  auto b = std::make_unique<Daemon>(worker_args("node-b"));
  auto pub = client::JobPublisher::open(bus);
  REQUIRE((*pub)->publish("t1", shell_job("poison", "sleep 60", "results.poison.x")).ok());
  // Running on b: its sandbox is there.
  REQUIRE(eventually([&] {
    auto l = b->client().list("node-b", {}, {{"job", "poison"}});
    return l.ok() && !l->empty();
  }));
  b->kill9();
  b.reset();
  Daemon c(worker_args("node-c"));  // delivery 2 of 2: not run again
  REQUIRE(eventually([&] { return dead == 1; }));
  auto r = (*pub)->lookup("t1", "poison");
  REQUIRE(r.ok());
  CHECK(r->status == "dead");
  CHECK(r->attempts == 2);
}

TEST_CASE("a job whose node dies after its code started runs again, with attempt 2 in its environment and result",
          "[jobs]") {
  const std::vector<std::string> common = {"--job-ack-wait", "1", "--job-max-deliver", "5"};
  std::vector<std::string> a_args = {"--jobs-workers", "0"};
  a_args.insert(a_args.end(), common.begin(), common.end());
  Daemon a(a_args);  // the bus, no workers
  auto& bus = a.client().connection();
  ResultInbox inbox(bus, "results.rerun");
  auto worker_args = [&](const std::string& id) {
    std::vector<std::string> args = a.join_args();
    args.insert(args.end(), {"--node-id", id, "--jobs-workers", "1"});
    args.insert(args.end(), common.begin(), common.end());
    return args;
  };
  auto b = std::make_unique<Daemon>(worker_args("node-b"));
  auto pub = client::JobPublisher::open(bus);
  REQUIRE(pub.ok());
  // Leaves its attempt where the test can read it, then (but on attempt 2)
  // outlives the test's patience: node b dies while it runs.
  const std::string script =
      "echo \"$SOULBOX_JOB_ATTEMPT\" > /home/user/attempt\n"
      "if [ \"$SOULBOX_JOB_ATTEMPT\" != 2 ]; then sleep 60; fi\n"
      "echo \"attempt $SOULBOX_JOB_ATTEMPT of $SOULBOX_JOB_IDEMPOTENCY_KEY\"\n";
  REQUIRE((*pub)->publish("t1", shell_job("rerun", script, "results.rerun.rerun")).ok());
  std::string first_attempt;
  REQUIRE(eventually([&] {
    auto l = b->client().list("node-b", {}, {{"job", "rerun"}});
    if (!l.ok() || l->empty()) return false;
    auto marker = b->client().read_file(l->front().id, "/home/user/attempt");
    if (marker.ok()) first_attempt = *marker;
    return marker.ok();
  }));
  CHECK(first_attempt == "1\n");  // its code started on node b
  b->kill9();
  b.reset();
  Daemon c(worker_args("node-c"));
  REQUIRE(eventually([&] { return inbox.distinct() == 1; }, 30000));
  auto r = inbox.first("rerun");
  CHECK(r.status == "completed");
  CHECK(r.out == "attempt 2 of t1.rerun\n");
  CHECK(r.attempts == 2);  // the delivery that produced the stored result
  CHECK(r.node == "node-c");
  CHECK_FALSE(r.duplicate);
  auto stored = (*pub)->lookup("t1", "rerun");
  REQUIRE(stored.ok());
  CHECK(stored->attempts == 2);
}

}  // namespace

namespace {

std::string examples_dir() {
  return std::string(SOULBOX_SOURCE_DIR) + "/examples";
}

TEST_CASE("the C++ example service publishes jobs and gets one result each, with the attempt each job saw", "[jobs]") {
  Daemon d({"--jobs-workers", "2"});
  auto r = test::run_host({test::daemon_build_dir() + "/examples/publish_jobs", "--ready",
                           d.data_dir() + "/soulboxd.json", "--tenant", "t1", "--count", "50", "--run", "cpp"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"one_result_each\":50,") != std::string::npos);
  CHECK(r.out.find("\"ran_on_redelivery\":0,") != std::string::npos);  // no node died
  CHECK(r.out.find("\"max_attempt\":1,") != std::string::npos);
  CHECK(r.out.find("\"attempt_mismatch\":0,") != std::string::npos);
}

TEST_CASE(
    "1000 jobs from the JavaScript example each get one result while a node is killed midway and reruns show in their "
    "attempts",
    "[jobs]") {
  const std::string js_dir = examples_dir() + "/jobs-js";
  INFO("build the example first: scripts/setup.sh (npm install and npm run build in " << js_dir << ")");
  REQUIRE(::access((js_dir + "/dist/soulbox/busproto/execute-job.js").c_str(), R_OK) == 0);
  const std::vector<std::string> common = {"--job-ack-wait", "2"};
  std::vector<std::string> a_args = {"--jobs-workers", "2"};
  a_args.insert(a_args.end(), common.begin(), common.end());
  Daemon a(a_args);
  std::vector<std::string> b_args = a.join_args();
  b_args.insert(b_args.end(), {"--node-id", "node-b", "--jobs-workers", "3"});
  b_args.insert(b_args.end(), common.begin(), common.end());
  auto b = std::make_unique<Daemon>(b_args);
  ResultInbox watcher(a.client().connection(), "results.js1000");
  // The example runs on its own; this test only watches and kills node b.
  const std::string out_file = a.root() + "/publish.out";
  std::fflush(nullptr);
  const pid_t publisher = ::fork();
  REQUIRE(publisher >= 0);
  if (publisher == 0) {
    const int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl("/usr/bin/env", "env", "node", (js_dir + "/publish.js").c_str(), "--ready",
            (a.data_dir() + "/soulboxd.json").c_str(), "--tenant", "t1", "--count", "1000", "--run", "js1000",
            "--publish-twice", "--timeout", "240", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  CHECK(eventually([&] { return watcher.distinct() >= 250; }, 120000));
  b->kill9();
  b.reset();
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 2600 && !exited; ++i) {  // up to 260 s
    exited = ::waitpid(publisher, &status, WNOHANG) == publisher;
    if (!exited) std::this_thread::sleep_for(100ms);
  }
  if (!exited) {
    ::kill(publisher, SIGKILL);
    ::waitpid(publisher, &status, 0);
  }
  std::ifstream in(out_file);
  const std::string summary((std::istreambuf_iterator<char>(in)), {});
  INFO(summary);
  CHECK(exited);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(summary.find("\"one_result_each\":1000,") != std::string::npos);
  CHECK(summary.find("\"attempt_mismatch\":0,") != std::string::npos);
  CHECK(summary.find("\"wrong_output\":0,") != std::string::npos);
  CHECK(summary.find("\"duplicate_publishes_dropped\":1000") != std::string::npos);
  // What the watcher saw: one result per job (copies of the stored one are
  // the same), run at least once; the jobs node b held when it died ran
  // again on a later delivery, which their attempt shows.
  size_t ran_on_redelivery = 0, inconsistent = 0, two_originals = 0, attempt_mismatch = 0;
  uint32_t max_attempt = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "js1000-" + std::to_string(i);
    inconsistent += !watcher.consistent(id);
    two_originals += watcher.originals(id) > 1;
    const auto r = watcher.first(id);
    attempt_mismatch += r.attempts < 1 || r.out != id + " " + std::to_string(r.attempts) + "\n";
    ran_on_redelivery += r.attempts > 1;
    max_attempt = std::max(max_attempt, r.attempts);
  }
  CHECK(inconsistent == 0);
  CHECK(two_originals == 0);
  CHECK(attempt_mismatch == 0);
  CHECK(ran_on_redelivery > 0);
  CHECK(summary.find("\"ran_on_redelivery\":" + std::to_string(ran_on_redelivery) + ",") != std::string::npos);
  CHECK(summary.find("\"max_attempt\":" + std::to_string(max_attempt) + ",") != std::string::npos);
}

}  // namespace

namespace {

// The nats-server a daemon started (its child).
pid_t nats_server_of(const Daemon& d) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(d.pid()) + "/task", ec)) {
    std::ifstream children(task.path() / "children");
    for (pid_t child; children >> child;) {
      std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
      std::string name;
      if (std::getline(comm, name) && name == "nats-server") return child;
    }
  }
  return -1;
}

// SB_JOBS against its consumer: messages at or below the ack floor are
// acked jobs the server kept.
struct QueueState {
  bus::StreamState stream;
  bus::ConsumerState consumer;
  bool ok = false;
  bool acked_left() const { return stream.messages > 0 && stream.first_seq <= consumer.ack_floor_stream_seq; }
  uint64_t acked_left_count() const {  // what is not waiting for a (first or next) delivery
    return stream.messages - std::min(stream.messages, consumer.num_pending + consumer.num_ack_pending);
  }
};

QueueState queue_state(bus::Connection& bus) {
  QueueState q;
  auto js = bus::JetStream::open(bus);
  if (!js) return q;
  auto stream = (*js)->stream_state(bus::subjects::kJobsStream);
  auto consumer = (*js)->consumer_state(bus::subjects::kJobsStream, jobs::kJobsConsumer);
  if (!stream || !consumer) return q;
  q.stream = *stream;
  q.consumer = *consumer;
  q.ok = true;
  return q;
}

std::string describe(const QueueState& q) {
  return "SB_JOBS: " + std::to_string(q.stream.messages) + " messages, seq " + std::to_string(q.stream.first_seq) +
         ".." + std::to_string(q.stream.last_seq) + "; consumer ack floor " +
         std::to_string(q.consumer.ack_floor_stream_seq) + ", pending " + std::to_string(q.consumer.num_pending) +
         ", ack pending " + std::to_string(q.consumer.num_ack_pending);
}

// Kills a daemon's nats-server with SIGKILL while jobs are being acked, and
// waits for the daemon to restart it.
void crash_nats_server(Daemon& bus_node) {
  const pid_t server = nats_server_of(bus_node);
  REQUIRE(server > 0);
  REQUIRE(::kill(server, SIGKILL) == 0);
  REQUIRE(eventually([&] {
    const pid_t again = nats_server_of(bus_node);
    return again > 0 && again != server;
  }));
  REQUIRE(eventually([&] { return bus_node.client().connection().connected(); }));
}

// The acked jobs a node's log says it removed from SB_JOBS, in all.
uint64_t removed_in_log(const std::string& log) {
  const std::string tail = " acked job(s) that SB_JOBS still held";
  uint64_t total = 0;
  for (size_t at = log.find(tail); at != std::string::npos; at = log.find(tail, at + 1)) {
    const size_t start = log.rfind("removed ", at);
    if (start != std::string::npos) total += std::stoull(log.substr(start + 8, at - start - 8));
  }
  return total;
}

const std::vector<std::string> kCrashJobsArgs = {"--job-ack-wait", "2"};

std::vector<std::string> worker_node_args(const Daemon& bus_node, const std::string& id) {
  std::vector<std::string> args = bus_node.join_args();
  args.insert(args.end(), {"--node-id", id, "--jobs-workers", "3"});
  args.insert(args.end(), kCrashJobsArgs.begin(), kCrashJobsArgs.end());
  return args;
}

void publish_echo_jobs(client::JobPublisher& pub, const std::string& run, int n) {
  for (int i = 0; i < n; ++i) {
    const std::string id = run + "-" + std::to_string(i);
    REQUIRE(pub.publish("t1", shell_job(id, "echo " + id, "results." + run + "." + id)).ok());
  }
}

// Every job has its one result: none ran again once acked.
void check_one_result_each(ResultInbox& inbox, const std::string& run, int n) {
  size_t two_originals = 0, inconsistent = 0, wrong = 0;
  for (int i = 0; i < n; ++i) {
    const std::string id = run + "-" + std::to_string(i);
    two_originals += inbox.originals(id) > 1;
    inconsistent += !inbox.consistent(id);
    wrong += inbox.first(id).out != id + "\n";
  }
  CHECK(two_originals == 0);
  CHECK(inconsistent == 0);
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("a nats-server killed while jobs are acked leaves SB_JOBS empty once they are done", "[jobs]") {
  // nats-server 2.9.10 loses the deletions of its last ~2 s when killed:
  // acked jobs come back below the ack floor (seen: 11 of 600 here without
  // the sweep). How many depends on the timing, so the next two tests put
  // them back deterministically.
  std::vector<std::string> a_args = {"--jobs-workers", "0"};
  a_args.insert(a_args.end(), kCrashJobsArgs.begin(), kCrashJobsArgs.end());
  Daemon a(a_args);  // the bus (its nats-server is the one killed), no workers
  Daemon b(worker_node_args(a, "node-b"));
  auto& bus = a.client().connection();
  ResultInbox inbox(bus, "results.crash1");
  auto pub = client::JobPublisher::open(bus);
  REQUIRE(pub.ok());
  const int n = 600;
  publish_echo_jobs(**pub, "crash1", n);
  REQUIRE(eventually([&] { return inbox.distinct() >= 100; }, 60000));
  crash_nats_server(a);  // while node b acks jobs
  REQUIRE(eventually([&] { return inbox.distinct() == size_t(n); }, 120000));
  QueueState q;
  CHECK(eventually([&] {
    q = queue_state(bus);
    return q.ok && q.consumer.num_pending == 0 && q.consumer.num_ack_pending == 0 && q.stream.messages == 0;
  }));
  INFO(describe(q) << "; node b removed " << removed_in_log(b.output()));
  CHECK_FALSE(q.acked_left());
  CHECK(q.stream.messages == 0);  // the queue does not grow with each crash
  check_one_result_each(inbox, "crash1", n);
}

namespace {

// SB_JOBS's message files in the embedded nats-server's store under `root`.
std::filesystem::path jobs_stream_messages(const std::string& root) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec); it != decltype(it)(); it.increment(ec))
    if (it->path().filename() == "msgs" && it->path().parent_path().filename() == bus::subjects::kJobsStream)
      return it->path();
  return {};
}

// What a crashed nats-server leaves, made deterministic: the state of
// SB_JOBS's messages from before `n` jobs were run and acked, under the
// consumer state from after. The bus node is stopped (cleanly) to swap the
// files and started again on the same port; `between` runs while it is down.
struct AckedJobsPutBack {
  std::unique_ptr<Daemon> bus_node;
  std::unique_ptr<bus::Connection> bus;  // the test's own: it reconnects across the restarts
  std::unique_ptr<ResultInbox> inbox;
  std::unique_ptr<client::JobPublisher> pub;
  std::string root;

  AckedJobsPutBack() {
    std::vector<std::string> a_args = {"--jobs-workers", "0"};
    a_args.insert(a_args.end(), kCrashJobsArgs.begin(), kCrashJobsArgs.end());
    bus_node = std::make_unique<Daemon>(a_args);
    bus_node->keep_root = true;
    root = bus_node->root();
    auto c = bus::Connection::connect(bus_node->address().connect);
    REQUIRE(c.ok());
    bus = std::move(*c);
    inbox = std::make_unique<ResultInbox>(*bus, "results");  // every run's
    auto p = client::JobPublisher::open(*bus);
    REQUIRE(p.ok());
    pub = std::move(*p);
  }
  ~AckedJobsPutBack() {
    pub.reset();
    inbox.reset();
    bus.reset();
    bus_node.reset();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  std::vector<std::string> bus_args() const {
    std::vector<std::string> args = {"--jobs-workers", "0"};
    args.insert(args.end(), kCrashJobsArgs.begin(), kCrashJobsArgs.end());
    return args;
  }
  void restart_bus_node(const std::function<void()>& while_down) {
    bus_node.reset();
    while_down();
    bus_node = std::make_unique<Daemon>(bus_args(), root);
    bus_node->keep_root = true;
    REQUIRE(eventually([&] { return bus->connected(); }));
  }
  // Publishes `n` jobs while no node runs them and keeps SB_JOBS's files.
  void publish_and_keep_files(int n) {
    publish_echo_jobs(*pub, "kept", n);
    restart_bus_node([&] {
      const auto msgs = jobs_stream_messages(root);
      REQUIRE(!msgs.empty());
      std::filesystem::copy(msgs, root + "/kept-msgs", std::filesystem::copy_options::recursive);
    });
  }
  // Puts the kept files back (the node with workers stopped or not).
  void put_files_back(const std::function<void()>& before = [] {}) {
    restart_bus_node([&] {
      before();
      const auto msgs = jobs_stream_messages(root);
      REQUIRE(!msgs.empty());
      std::filesystem::remove_all(msgs);
      std::filesystem::copy(root + "/kept-msgs", msgs, std::filesystem::copy_options::recursive);
    });
  }
  void wait_until_run(size_t n) {
    REQUIRE(eventually([&] { return inbox->distinct() == n; }, 60000));
    QueueState q;
    REQUIRE(eventually([&] { return (q = queue_state(*bus)).ok && q.stream.messages == 0; }));
  }
  // Every job ran once: one original result each. (A job slower than the
  // 2 s ack wait on a loaded machine is redelivered and answered again from
  // the stored result, marked duplicate: that is the ack wait, not the defect.)
  void check_each_ran_once(const std::string& run, int n) {
    size_t not_once = 0;
    for (int i = 0; i < n; ++i) not_once += inbox->originals(run + "-" + std::to_string(i)) != 1;
    CHECK(not_once == 0);
  }
  // How many answers have come for the jobs of `run`, duplicates included.
  size_t answers(const std::string& run, int n) {
    std::lock_guard<std::mutex> lock(inbox->mu);
    size_t total = 0;
    for (int i = 0; i < n; ++i) total += inbox->results.count(run + "-" + std::to_string(i));
    return total;
  }
};

}  // namespace

TEST_CASE("acked jobs a nats-server kept in SB_JOBS below the ack floor are removed when a node reconnects", "[jobs]") {
  AckedJobsPutBack kept;
  const int n = 40;
  kept.publish_and_keep_files(n);
  Daemon b(worker_node_args(*kept.bus_node, "node-b"));
  kept.wait_until_run(n);
  const size_t answered = kept.answers("kept", n);
  kept.put_files_back();  // node b stays up and reconnects
  QueueState q;
  CHECK(eventually([&] { return (q = queue_state(*kept.bus)).ok && q.stream.messages == 0; }));
  INFO(describe(q));
  CHECK(q.consumer.ack_floor_stream_seq >= uint64_t(n));
  CHECK(removed_in_log(b.output()) == uint64_t(n));  // they were there, and node b removed them
  // The queue still works, and no acked job came back.
  publish_echo_jobs(*kept.pub, "later", 10);
  REQUIRE(eventually([&] { return kept.inbox->distinct() == size_t(n + 10); }, 60000));
  std::this_thread::sleep_for(3s);  // past the ack wait: a redelivery would have come
  kept.check_each_ran_once("kept", n);
  kept.check_each_ran_once("later", 10);
  CHECK(kept.answers("kept", n) == answered);  // the acked jobs put back were never delivered again
  CHECK((q = queue_state(*kept.bus)).stream.messages == 0);
}

TEST_CASE("acked jobs a nats-server kept in SB_JOBS below the ack floor are removed when a node starts", "[jobs]") {
  AckedJobsPutBack kept;
  const int n = 40;
  kept.publish_and_keep_files(n);
  auto b = std::make_unique<Daemon>(worker_node_args(*kept.bus_node, "node-b"));
  kept.wait_until_run(n);
  const size_t answered = kept.answers("kept", n);
  kept.put_files_back([&] { b.reset(); });
  QueueState before;
  REQUIRE(eventually([&] { return (before = queue_state(*kept.bus)).ok; }));
  INFO("put back: " << describe(before));
  REQUIRE(before.acked_left());  // the defect's state: acked jobs in the queue, nothing pending
  CHECK(before.stream.messages == uint64_t(n));
  CHECK(before.acked_left_count() == uint64_t(n));
  publish_echo_jobs(*kept.pub, "later", 10);  // above the floor: these must still run
  Daemon c(worker_node_args(*kept.bus_node, "node-c"));
  REQUIRE(eventually([&] { return kept.inbox->distinct() == size_t(n + 10); }, 60000));
  QueueState after;
  CHECK(eventually([&] { return (after = queue_state(*kept.bus)).ok && after.stream.messages == 0; }));
  INFO("after node c: " << describe(after));
  CHECK(removed_in_log(c.output()) == uint64_t(n));
  std::this_thread::sleep_for(3s);  // past the ack wait: a redelivery would have come
  kept.check_each_ran_once("kept", n);
  kept.check_each_ran_once("later", 10);
  CHECK(kept.answers("kept", n) == answered);  // the acked jobs put back were never delivered again
}

TEST_CASE("a publisher with its own credentials keeps working across a kill -9 and restart of a single node",
          "[jobs][restart]") {
  auto d = std::make_unique<Daemon>(std::vector<std::string>{"--jobs-workers", "1"});
  d->keep_root = true;
  const std::string root = d->root();
  // The publisher role's credentials from soulboxd.json: jobs and results only.
  auto address = client::read_ready_file(d->data_dir() + "/soulboxd.json", "publisher");
  REQUIRE(address.ok());
  CHECK(address->connect.user == "soulbox-publisher");
  auto bus = bus::Connection::connect(address->connect);
  REQUIRE(bus.ok());
  ResultInbox inbox(**bus, "results.restart");
  auto pub = client::JobPublisher::open(**bus);
  REQUIRE(pub.ok());
  REQUIRE((*pub)->publish("t1", shell_job("before", "echo before", "results.restart.before")).ok());
  REQUIRE(eventually([&] { return inbox.distinct() == 1; }));

  // The node (and its embedded nats-server) dies; it comes back on the same
  // port with the same passwords, and the publisher's connection reconnects
  // by itself: its subscription and JetStream publishing work again.
  d->kill9();
  d.reset();
  d = std::make_unique<Daemon>(std::vector<std::string>{"--jobs-workers", "1"}, root);
  auto again = client::read_ready_file(d->data_dir() + "/soulboxd.json", "publisher");
  REQUIRE(again.ok());
  CHECK(again->connect.url == address->connect.url);
  CHECK(again->connect.password == address->connect.password);
  CHECK(eventually([&] { return (*bus)->connected(); }));
  CHECK(eventually(
      [&] { return (*pub)->publish("t1", shell_job("after", "echo after", "results.restart.after")).ok(); }));
  REQUIRE(eventually([&] { return inbox.distinct() == 2; }, 60000));
  CHECK(inbox.first("after").out == "after\n");
  CHECK((*bus)->reconnects() >= 1);
}
