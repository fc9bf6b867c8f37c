// Jobs on JetStream end to end: real soulboxd processes, their nats-server,
// real sandboxes. Services publish ExecuteJobs; results come back once.
#include "client/jobs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "bus/subjects.h"
#include "tests/support/daemon_env.h"
#include "tests/support/sandbox_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
using test::Daemon;

template <class F>
bool eventually(F f, int timeout_ms = 20000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

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
  client::JobResultView first(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return results.find(id)->second;
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

TEST_CASE("jobs held by a node killed with SIGKILL are run elsewhere and each completes once", "[jobs]") {
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
    REQUIRE((*pub)->publish("t1", shell_job(id, "sleep 0.05; echo " + id, "results.kill." + id)).ok());
  }
  REQUIRE(eventually([&] { return inbox.distinct() >= 30; }, 60000));
  b->kill9();  // mid-run: it holds jobs that are never acked
  b.reset();
  REQUIRE(eventually([&] { return inbox.distinct() == size_t(n); }, 90000));
  size_t by_b = 0;
  for (int i = 0; i < n; ++i) {
    const std::string id = "k-" + std::to_string(i);
    // Run once: never two original results. A node killed between storing
    // a result and publishing it leaves only the stored copy, sent by the
    // next delivery (marked duplicate): still one run.
    INFO(id);
    CHECK(inbox.originals(id) <= 1);
    auto r = inbox.first(id);
    CHECK(r.out == id + "\n");
    by_b += r.node == "node-b";
  }
  CHECK(by_b > 0);  // both nodes worked
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

}  // namespace

namespace {

std::string examples_dir() {
  return std::string(SOULBOX_SOURCE_DIR) + "/examples";
}

TEST_CASE("the C++ example service publishes jobs and gets each result once", "[jobs]") {
  Daemon d({"--jobs-workers", "2"});
  auto r = test::run_host({test::daemon_build_dir() + "/examples/publish_jobs", "--ready",
                           d.data_dir() + "/soulboxd.json", "--tenant", "t1", "--count", "50", "--run", "cpp"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\"exactly_once\":50") != std::string::npos);
}

TEST_CASE("1000 jobs from the JavaScript example complete exactly once while a node is killed midway", "[jobs]") {
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
  CHECK(summary.find("\"exactly_once\":1000") != std::string::npos);
  CHECK(summary.find("\"ran_twice\":0") != std::string::npos);
  CHECK(summary.find("\"duplicate_publishes_dropped\":1000") != std::string::npos);
  size_t ran_twice = 0;
  // (A job's only result may be its stored copy: see the SIGKILL case above.)
  for (int i = 0; i < 1000; ++i) ran_twice += watcher.originals("js1000-" + std::to_string(i)) > 1;
  CHECK(ran_twice == 0);
}

}  // namespace

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
