// Jobs through SB_JOBS on one soulboxd, next to the same work done directly
// with the bus client in the same run:
//   1. unloaded latency: publish one job, wait for its result, repeat
//   2. throughput: publish N jobs at once; jobs/s and publish -> result latency
//   peer: create -> run `echo` -> kill through the bus client, sequentially
// Usage: jobs_bench [--jobs N] [--rounds N] [--workers N] [--root DIR]
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "bench/bench_env.h"
#include "bench/stats.h"
#include "client/client.h"
#include "client/jobs.h"
#include "client/local_daemon.h"

using namespace soulbox;
using namespace soulbox::bench;
namespace fs = std::filesystem;

namespace {

struct Config {
  int jobs = 500, rounds = 100, workers = 4;
  std::string root = "/var/lib/soulbox-bench-jobs";
};

[[noreturn]] void die(const std::string& what, const std::string& why) {
  std::cerr << "jobs_bench: " << what << ": " << why << "\n";
  std::exit(1);
}

// Result arrival times by job id.
struct Arrivals {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, double> at_us;
  std::unique_ptr<bus::Subscription> sub;
  Arrivals(bus::Connection& bus, const std::string& prefix) {
    auto s = bus.subscribe(prefix + ".>", "", [this](bus::Message m) {
      auto r = client::decode_job_result(m.data);
      if (!r || r->duplicate) return;
      std::lock_guard<std::mutex> lock(mu);
      at_us.emplace(r->job_id, now_us());
      cv.notify_all();
    });
    if (!s) die("subscribe", s.error().message);
    sub = std::move(*s);
    (void)bus.flush(2000);
  }
  bool wait_for(size_t n, int seconds) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(seconds), [&] { return at_us.size() >= n; });
  }
};

client::JobSpec echo_job(const std::string& run, int i) {
  client::JobSpec j;
  j.job_id = run + "-" + std::to_string(i);
  j.language = "sh";
  j.code = "echo " + j.job_id;
  j.reply_subject = "bench." + run + "." + j.job_id;
  return j;
}

void row(const std::string& name, const Summary& s, double base) {
  std::cout << "| " << name << " | " << fmt(s.p50) << " | " << fmt(s.p90) << " | " << fmt(s.p99) << " | "
            << fmt(s.p50 / base, 2) << "x |\n";
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--jobs")) c.jobs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) c.rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--workers")) c.workers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--root")) c.root = argv[i + 1];
  }
  fresh_root(c.root);
  fs::create_directories(c.root + "/daemon");
  const std::string build = build_dir();

  client::LocalDaemonOptions o;
  o.binary = build + "/soulboxd";
  o.root = c.root + "/daemon";
  o.args = {"--cgroup-parent", "soulbox-bench",          "--pool-min", "4", "--pool-max", "8", "--node-id", "bench",
            "--jobs-workers",  std::to_string(c.workers)};
  auto daemon = client::start_local_daemon(o);
  if (!daemon) die("start soulboxd", daemon.error().message);
  auto cl = client::Client::connect(daemon->address.connect);
  if (!cl) die("connect", cl.error().message);
  auto& bus = (*cl)->connection();
  auto pub = client::JobPublisher::open(bus);
  if (!pub) die("jetstream", pub.error().message);

  std::cout << "## Jobs benchmark\n\nhost: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores; one soulboxd, " << c.workers
            << " job workers, warm pool of 4; each job runs `sh` with `echo <id>` in a fresh sandbox\n";

  // Peer: what a job does, done directly with the bus client.
  std::vector<double> direct;
  for (int i = 0; i < c.rounds; ++i) {
    const double t0 = now_us();
    auto box = (*cl)->create({});
    if (!box) die("create", box.error().message);
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", "echo x"};
    if (auto r = (*cl)->run(box->id, spec); !r) die("run", r.error().message);
    (void)(*cl)->kill(box->id);
    direct.push_back(now_us() - t0);
  }
  const Summary peer = summarize(direct);

  Arrivals single(bus, "bench.one");
  std::vector<double> latencies;
  for (int i = 0; i < c.rounds; ++i) {
    auto job = echo_job("one", i);
    const double t0 = now_us();
    if (auto a = (*pub)->publish("bench", job); !a) die("publish", a.error().message);
    if (!single.wait_for(size_t(i + 1), 60)) die("single job", "no result in 60 s");
    std::lock_guard<std::mutex> lock(single.mu);
    latencies.push_back(single.at_us[job.job_id] - t0);
  }
  std::cout << "\n### 1. One job at a time (N=" << c.rounds << ", µs)\n\n"
            << "| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
  row("bus client directly: create -> run `sh -c 'echo x'` -> kill", peer, peer.p50);
  row("job: publish -> JetStream -> worker -> sandbox -> result on the reply subject", summarize(latencies), peer.p50);

  Arrivals burst(bus, "bench.burst");
  std::map<std::string, double> published_at;
  const double start = now_us();
  for (int i = 0; i < c.jobs; ++i) {
    auto job = echo_job("burst", i);
    published_at[job.job_id] = now_us();
    if (auto a = (*pub)->publish("bench", job); !a) die("publish", a.error().message);
  }
  const double published = now_us();
  if (!burst.wait_for(size_t(c.jobs), 600)) die("burst", "not every result arrived in 600 s");
  std::vector<double> burst_latency;
  double last = 0;
  {
    std::lock_guard<std::mutex> lock(burst.mu);
    for (const auto& [id, at] : burst.at_us) {
      burst_latency.push_back(at - published_at[id]);
      last = std::max(last, at);
    }
  }
  const double seconds = (last - start) / 1e6;
  const Summary b = summarize(burst_latency);
  std::cout << "\n### 2. " << c.jobs << " jobs published at once\n\n"
            << "| what | figure |\n|---|---:|\n"
            << "| publishing all " << c.jobs << " (sync JetStream acks) | " << fmt((published - start) / 1000.0)
            << " ms |\n"
            << "| **throughput** | **" << fmt(c.jobs / seconds, 1) << " jobs/s** |\n"
            << "| same work through the bus client, one at a time (peer) | " << fmt(1e6 / peer.p50, 1) << " /s |\n"
            << "| publish -> result p50 / p99 | " << fmt(b.p50 / 1000.0, 1) << " / " << fmt(b.p99 / 1000.0, 1)
            << " ms |\n";
  cl->reset();
  client::stop_local_daemon(daemon->pid);
  std::error_code ec;
  fs::remove_all(c.root, ec);
  return 0;
}
