// Jobs over HTTP (/v1/jobs): hand work to SB_JOBS without managing
// sandboxes (docs/jobs.md), as the caller's tenant; a job is authorised by
// the caller's API key like one published on the bus.
#include <nlohmann/json.hpp>
#include <random>

#include "bus/subjects.h"
#include "common/base64.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;

std::string new_job_id() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "job-%08x%08x%08x", rd(), rd(), rd());
  return buf;
}

// {language, code} or {command: [...]}, with files {path: data}, env {K: v},
// stdin, timeoutMs, memoryBytes, artifacts [paths].
Result<client::JobSpec> job_of(const json& body) {
  client::JobSpec job;
  job.job_id = body.value("jobID", new_job_id());
  if (!bus::subjects::check_token("job id", job.job_id))
    return Error{ErrorCode::invalid_argument, "jobID must be letters, digits, '-' and '_'"};
  job.language = body.value("language", "");
  job.code = body.value("code", "");
  for (const auto& a : body.value("command", json::array()))
    if (a.is_string()) job.command.push_back(a.get<std::string>());
  if (job.command.empty() && (job.language.empty() || job.code.empty()))
    return Error{ErrorCode::invalid_argument, "a job needs {language, code} or {command: [...]}"};
  for (const char* field : {"files", "env"}) {
    const json map = body.value(field, json::object());
    if (!map.is_object()) return Error{ErrorCode::invalid_argument, std::string(field) + " must be an object"};
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it.value().is_string())
        return Error{ErrorCode::invalid_argument, std::string(field) + " values must be strings"};
      (std::string(field) == "files" ? job.files : job.env).emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  job.stdin_data = body.value("stdin", "");
  const json timeout = body.value("timeoutMs", json(0u)), memory = body.value("memoryBytes", json(0u));
  if (!timeout.is_number_unsigned() || timeout.get<uint64_t>() > 3600000 || !memory.is_number_unsigned())
    return Error{ErrorCode::invalid_argument, "timeoutMs (≤ 1 h) and memoryBytes must be whole numbers"};
  job.timeout_ms = uint32_t(timeout.get<uint64_t>());
  job.memory_bytes = memory.get<uint64_t>();
  for (const auto& a : body.value("artifacts", json::array()))
    if (a.is_string()) job.artifacts.push_back(a.get<std::string>());
  return job;
}

json result_json(const client::JobResultView& r) {
  json artifacts = json::object();
  for (const auto& [path, data] : r.artifacts) artifacts[path] = base64_encode(data);
  return {{"jobID", r.job_id},
          {"status", r.status},
          {"exitCode", r.exit_code},
          {"signal", r.signal},
          {"timedOut", r.timed_out},
          {"stdout", r.out},
          {"stderr", r.err},
          {"node", r.node},
          {"attempts", r.attempts},
          {"error", r.error_message},
          {"startedAt", r.started_unix_ms},
          {"finishedAt", r.finished_unix_ms},
          {"artifacts", artifacts}};
}

}  // namespace

// POST /v1/jobs -> 202 {jobID}; GET /v1/jobs/{id} -> 200 the result, or
// 404 while it is queued or running.
void E2bGateway::jobs(const HttpRequest& req, ResponseWriter& out, const Caller& caller,
                      const std::vector<std::string>& s) {
  if (!jobs_) return send_error(out, 503, "jobs need JetStream, which this gateway cannot reach");
  if (s.size() == 1 && req.method == "POST") {
    if (caller.api_key.empty())
      return send_error(out, 403, "jobs are authorised by an API key (X-API-Key), not " + caller.principal);
    const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return send_error(out, 400, "the body is not a JSON object");
    auto job = job_of(body);
    if (!job) return send_error(out, job.error());
    job->api_key = caller.api_key;
    auto ack = jobs_->publish(caller.tenant, *job);
    if (!ack) return send_error(out, ack.error());
    return out.send(202, "application/json", json_text(json{{"jobID", job->job_id}, {"duplicate", ack->duplicate}}));
  }
  if (s.size() == 2 && req.method == "GET") {
    if (!bus::subjects::check_token("job id", s[1])) return send_error(out, 404, "no job " + s[1]);
    auto result = jobs_->lookup(caller.tenant, s[1]);
    if (!result) {
      if (result.error().code == ErrorCode::not_found)
        return send_error(out, 404, "no result for job " + s[1] + " yet (queued, running, or unknown)");
      return send_error(out, result.error());
    }
    return out.send(200, "application/json", json_text(result_json(*result)));
  }
  send_error(out, 404, "no route " + req.method + " " + req.path);
}

}  // namespace soulbox::gateway
