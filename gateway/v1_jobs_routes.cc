// Jobs over HTTP (/v1/jobs): hand work to SB_JOBS without managing
// sandboxes (docs/jobs.md), as the caller's tenant; a job is authorised by
// the caller's API key like one published on the bus.
#include <nlohmann/json.hpp>
#include <random>

#include "bus/subjects.h"
#include "common/base64.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/job_request.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;

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

// POST /v1/jobs -> 202 {jobID}.
void E2bGateway::job_submit(const HttpRequest& req, ResponseWriter& out, const Caller& caller) {
  if (caller.api_key.empty())
    return send_error(out, 403, "jobs are authorised by an API key (X-API-Key), not " + caller.principal);
  // A malformed job is the caller's error whether or not the bus is up.
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return send_error(out, 400, "the body is not a JSON object");
  auto job = job_from_json(body);
  if (!job) return send_error(out, job.error());
  if (!jobs_) return send_error(out, 503, "jobs need JetStream, which this gateway cannot reach");
  job->api_key = caller.api_key;
  auto ack = jobs_->publish(caller.tenant, *job);
  if (!ack) return send_error(out, ack.error());
  out.send(202, "application/json", json_text(json{{"jobID", job->job_id}, {"duplicate", ack->duplicate}}));
}

// GET /v1/jobs/{id} -> 200 the result, or 404 while it is queued or running.
void E2bGateway::job_result(ResponseWriter& out, const Caller& caller, const std::string& job_id) {
  if (!jobs_) return send_error(out, 503, "jobs need JetStream, which this gateway cannot reach");
  if (!bus::subjects::check_token("job id", job_id)) return send_error(out, 404, "no job " + job_id);
  auto result = jobs_->lookup(caller.tenant, job_id);
  if (!result) {
    if (result.error().code == ErrorCode::not_found)
      return send_error(out, 404, "no result for job " + job_id + " yet (queued, running, or unknown)");
    return send_error(out, result.error());
  }
  out.send(200, "application/json", json_text(result_json(*result)));
}

}  // namespace soulbox::gateway
