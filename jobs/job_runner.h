// Runs one ExecuteJob in a fresh sandbox through the bus client: create
// (placed anywhere), write the files, run, read the artifacts, kill.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "client/client.h"
#include "messages/bus_codec.h"

namespace soulbox::jobs {

struct JobOutcome {
  std::string status = "completed";  // completed, failed
  ProcessResult process;
  std::vector<std::pair<std::string, std::string>> artifacts;  // path, bytes
  ErrorCode error_code = ErrorCode::ok;
  std::string error_message;
  int64_t started_unix_ms = 0, finished_unix_ms = 0;
  bool retry = false;  // failed for a reason that may pass (no capacity, node gone): deliver again
};

struct RunnerSettings {
  uint32_t default_timeout_ms = 60000;
  uint64_t output_limit = 1u << 20;  // per stream, so a result fits one message
  int keepalive_ms = 10000;          // `still_working` is called at least this often
};

// The argv that runs `code` in `language` (written to `script_path`).
Result<std::vector<std::string>> interpreter_for(const std::string& language, const std::string& script_path);

// `still_working` is called while the process runs (to extend the ack timer).
// The sandbox is made on `node` (the worker's own), so it dies with the node
// that holds the job rather than outliving it elsewhere. The process sees
// `attempt` (the delivery count) and the job's idempotency key in its
// environment (jobs/job_environment.h); a job whose env names one of those
// variables itself fails with invalid_argument without running.
JobOutcome run_job(client::Client& client, const busproto::ExecuteJob& job, const std::string& tenant,
                   const std::string& node, uint32_t attempt, const RunnerSettings& settings,
                   const std::function<void()>& still_working);

}  // namespace soulbox::jobs
