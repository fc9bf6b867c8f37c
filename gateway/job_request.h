// The body of POST /v1/jobs as a job for SB_JOBS (docs/jobs.md): typed
// reads, so a field of the wrong type is an invalid_argument naming it.
#pragma once
#include <nlohmann/json.hpp>

#include "client/jobs.h"
#include "common/result.h"

namespace soulbox::gateway {

// {language, code} or {command: [...]}, with files {path: data}, env
// {K: v}, stdin, timeoutMs (at most 1 h), memoryBytes, artifacts [paths]
// and jobID (a token; generated when absent).
Result<client::JobSpec> job_from_json(const nlohmann::json& body);

}  // namespace soulbox::gateway
