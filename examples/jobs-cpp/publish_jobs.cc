// A C++ service that hands work to SoulBox: publishes N jobs to
// sb.v1.jobs.<tenant> and waits until each has its one result (the same
// protocol as ../jobs-js/publish.js). Jobs run at least once: each prints
// its SOULBOX_JOB_ATTEMPT, which must be the result's `attempts`; a job
// that ran on a later delivery (attempts > 1) may have started before.
//
//   build/examples/publish_jobs --ready /var/lib/soulbox/soulboxd.json --count 100
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>

#include "client/client.h"
#include "client/jobs.h"

using namespace soulbox;

int main(int argc, char** argv) {
  CLI::App app{"publish_jobs: publish jobs to SoulBox and collect their results"};
  std::string ready = "/var/lib/soulbox/soulboxd.json", tenant = "demo";
  std::string run = "cpp" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000000);
  int count = 10, timeout_s = 300;
  app.add_option("--ready", ready, "soulboxd's connection details")->capture_default_str();
  app.add_option("--tenant", tenant)->capture_default_str();
  app.add_option("--count", count)->capture_default_str();
  app.add_option("--run", run, "Prefix of job ids and result subjects");
  app.add_option("--timeout", timeout_s, "Seconds to wait for all results")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // A publisher's credentials: it may publish jobs and read its results, nothing else.
  auto address = client::read_ready_file(ready, "publisher");
  if (!address) return std::cerr << address.error().message << "\n", 2;
  auto bus = bus::Connection::connect(address->connect);
  if (!bus) return std::cerr << bus.error().message << "\n", 2;
  auto publisher = client::JobPublisher::open(**bus);
  if (!publisher) return std::cerr << publisher.error().message << "\n", 2;

  std::mutex mu;
  std::condition_variable cv;
  // Job id -> what came back. A stored copy sent again (duplicate) is the
  // same result, not another; it may be a job's only one when a node died
  // between storing and publishing the original.
  struct Seen {
    client::JobResultView first;
    int originals = 0, copies = 0;
    bool consistent = true;
  };
  std::map<std::string, Seen> seen;
  auto sub = (*bus)->subscribe("results." + run + ".>", "", [&](bus::Message m) {
    auto r = client::decode_job_result(m.data);
    if (!r) return;
    std::lock_guard<std::mutex> lock(mu);
    auto [it, fresh] = seen.try_emplace(r->job_id, Seen{*r});
    Seen& s = it->second;
    (r->duplicate ? s.copies : s.originals)++;
    if (!fresh)
      s.consistent =
          s.consistent && r->out == s.first.out && r->attempts == s.first.attempts && r->node == s.first.node;
    cv.notify_one();
  });
  if (!sub || !(*bus)->flush(2000)) return std::cerr << "subscribe failed\n", 2;

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    client::JobSpec job;
    job.job_id = run + "-" + std::to_string(i);
    job.language = "sh";
    job.code = "echo " + job.job_id + " \"$SOULBOX_JOB_ATTEMPT\"";
    job.reply_subject = "results." + run + "." + job.job_id;
    if (auto ack = (*publisher)->publish(tenant, job); !ack) return std::cerr << ack.error().message << "\n", 2;
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, std::chrono::seconds(timeout_s), [&] { return int(seen.size()) == count; });
  int one_result = 0, ran_on_redelivery = 0, attempt_mismatch = 0, wrong = 0, copies = 0;
  uint32_t max_attempt = 0;
  for (const auto& [id, s] : seen) {
    const auto& r = s.first;
    one_result += s.originals <= 1 && s.consistent;
    ran_on_redelivery += r.attempts > 1;
    max_attempt = std::max(max_attempt, r.attempts);
    wrong += r.status != "completed" || r.out.rfind(id + " ", 0) != 0;
    attempt_mismatch += r.attempts < 1 || r.out != id + " " + std::to_string(r.attempts) + "\n";
    copies += s.copies;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"jobs\":" << count << ",\"results\":" << seen.size() << ",\"one_result_each\":" << one_result
            << ",\"ran_on_redelivery\":" << ran_on_redelivery << ",\"max_attempt\":" << max_attempt
            << ",\"attempt_mismatch\":" << attempt_mismatch << ",\"resent_duplicates\":" << copies
            << ",\"wrong_output\":" << wrong << ",\"total_ms\":" << ms << "}\n";
  return one_result == count && wrong == 0 && attempt_mismatch == 0 ? 0 : 1;
}
