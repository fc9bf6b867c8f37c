#include "gateway/job_request.h"

#include <cstdio>
#include <random>

#include "bus/subjects.h"
#include "common/json_fields.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;

std::string new_job_id() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "job-%08x%08x%08x", rd(), rd(), rd());
  return buf;
}

}  // namespace

// nlohmann's value() threw on a field of the wrong type, and the server
// answered the exception with a 503.
Result<client::JobSpec> job_from_json(const json& body) {
  client::JobSpec job;
  job.job_id = new_job_id();
  uint64_t timeout_ms = 0;
  JsonFields f(body, "body");
  f.read("jobID", job.job_id);
  f.read("language", job.language);
  f.read("code", job.code);
  f.read("command", job.command);
  f.read("stdin", job.stdin_data);
  f.read("timeoutMs", timeout_ms);
  f.read("memoryBytes", job.memory_bytes);
  f.read("artifacts", job.artifacts);
  if (!f.ok()) return f.status(ErrorCode::invalid_argument).error();
  if (!bus::subjects::check_token("job id", job.job_id))
    return Error{ErrorCode::invalid_argument, "jobID must be letters, digits, '-' and '_'"};
  if (job.command.empty() && (job.language.empty() || job.code.empty()))
    return Error{ErrorCode::invalid_argument, "a job needs {language, code} or {command: [...]}"};
  if (timeout_ms > 3600000) return Error{ErrorCode::invalid_argument, "timeoutMs must be at most 1 h (3600000)"};
  job.timeout_ms = uint32_t(timeout_ms);
  for (const char* field : {"files", "env"}) {
    const json map = body.value(field, json::object());
    if (!map.is_object()) return Error{ErrorCode::invalid_argument, std::string(field) + " must be an object"};
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it.value().is_string())
        return Error{ErrorCode::invalid_argument, std::string(field) + " values must be strings"};
      (std::string(field) == "files" ? job.files : job.env).emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  return job;
}

}  // namespace soulbox::gateway
