// The jobs service of a node: workers that share one durable pull consumer
// on SB_JOBS, run each job in a fresh sandbox (jobs/job_runner.h), keep the
// result in the SB_JOB_RESULTS key-value bucket, publish it, and only then
// ack. Delivery is at least once, and so is running: a job whose node died
// after its code started and before its result was stored runs again (its
// process sees the attempt number and an idempotency key:
// jobs/job_environment.h). What holds is one result per job: a job whose
// result exists is answered from the bucket instead of running again, and
// the first stored result wins when two deliveries race. Workers are plain
// threads: each waits on the bus for most of a job, which actors must not do.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bus/connection.h"
#include "jobs/job_runner.h"
#include "tenants/tenant_service.h"

namespace soulbox::jobs {

struct JobsSettings {
  std::string node_id;
  int workers = 4;                   // jobs run at once on this node; 0: none
  int64_t ack_wait_ms = 30000;       // a job silent this long is delivered again
  int max_deliver = 5;               // the last delivery goes to the dead-letter subject instead of running
  int64_t result_ttl_ms = 86400000;  // results kept for lookup and dedup
  RunnerSettings runner;
  // Tenants with a record must sign their jobs with an API key of theirs
  // (the envelope's principal) allowed to execute sandboxes; null: no checks.
  const tenants::TenantService* tenants = nullptr;
};

inline constexpr const char* kJobsConsumer = "soulbox-jobs";
inline constexpr const char* kResultsBucket = "SB_JOB_RESULTS";

class JobsService {
 public:
  static Result<std::unique_ptr<JobsService>> start(const bus::ConnectOptions& connect, const JobsSettings& settings);
  ~JobsService();  // stops fetching and joins the workers (a job cut short is delivered again)
  void stop_fetching() { stopping_ = true; }  // workers finish or hand back what they hold

  uint64_t completed() const { return completed_.load(); }

 private:
  JobsService(bus::ConnectOptions connect, JobsSettings settings)
      : connect_(std::move(connect)), settings_(std::move(settings)) {}
  void work(int index);

  bus::ConnectOptions connect_;
  JobsSettings settings_;
  std::unique_ptr<bus::Connection> lookup_bus_;
  std::unique_ptr<bus::Subscription> lookup_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> completed_{0};
  std::vector<std::thread> workers_;
  std::thread leftover_sweeper_;  // jobs/acked_leftovers.h
};

}  // namespace soulbox::jobs
