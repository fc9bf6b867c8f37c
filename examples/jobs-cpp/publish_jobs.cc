// A C++ service that hands work to SoulBox: publishes N jobs to
// sb.v1.jobs.<tenant> and waits until each result has come back exactly
// once (the same protocol as ../jobs-js/publish.js).
//
//   build/examples/publish_jobs --ready /var/lib/soulbox/soulboxd.json --count 100
#include <CLI/CLI.hpp>
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
  // Job id -> results that ran it. A stored copy sent again (duplicate) is
  // not a run; it may be a job's only result when a node died between
  // storing and publishing the original.
  std::map<std::string, int> originals;
  int duplicates = 0, wrong = 0;
  auto sub = (*bus)->subscribe("results." + run + ".>", "", [&](bus::Message m) {
    auto r = client::decode_job_result(m.data);
    std::lock_guard<std::mutex> lock(mu);
    if (!r) return;
    if (r->duplicate) {
      ++duplicates;
      originals.emplace(r->job_id, 0);
    } else {
      ++originals[r->job_id];
      wrong += r->status != "completed" || r->out != r->job_id + "\n";
    }
    cv.notify_one();
  });
  if (!sub || !(*bus)->flush(2000)) return std::cerr << "subscribe failed\n", 2;

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    client::JobSpec job;
    job.job_id = run + "-" + std::to_string(i);
    job.language = "sh";
    job.code = "echo " + job.job_id;
    job.reply_subject = "results." + run + "." + job.job_id;
    if (auto ack = (*publisher)->publish(tenant, job); !ack) return std::cerr << ack.error().message << "\n", 2;
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, std::chrono::seconds(timeout_s), [&] { return int(originals.size()) == count; });
  int exactly_once = 0, ran_twice = 0;
  for (const auto& [id, n] : originals) (n <= 1 ? exactly_once : ran_twice)++;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"jobs\":" << count << ",\"results\":" << originals.size() << ",\"exactly_once\":" << exactly_once
            << ",\"ran_twice\":" << ran_twice << ",\"resent_duplicates\":" << duplicates
            << ",\"wrong_output\":" << wrong << ",\"total_ms\":" << ms << "}\n";
  return exactly_once == count && wrong == 0 ? 0 : 1;
}
