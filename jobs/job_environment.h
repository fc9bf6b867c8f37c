// What a job's process is told about its delivery. JetStream delivers a job
// at least once, and a node that dies after the job's code started but
// before its result was stored leaves a job that runs again elsewhere; code
// with side effects outside the sandbox makes them idempotent with the key
// and can see from the attempt number that an earlier attempt may have run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::jobs {

inline constexpr const char* kJobIdEnv = "SOULBOX_JOB_ID";
inline constexpr const char* kIdempotencyKeyEnv = "SOULBOX_JOB_IDEMPOTENCY_KEY";  // <tenant>.<job_id>
inline constexpr const char* kAttemptEnv = "SOULBOX_JOB_ATTEMPT";                 // JetStream delivery count, 1 first
// Names a publisher may not set: the platform's values must be the ones seen.
inline constexpr const char* kReservedEnvPrefix = "SOULBOX_JOB_";

// The same for every delivery of the job; also the key of its stored result.
std::string idempotency_key(const std::string& tenant, const std::string& job_id);

// KEY=VALUE entries added to the job's environment.
std::vector<std::string> delivery_environment(const std::string& tenant, const std::string& job_id, uint32_t attempt);

// invalid_argument when the job's own env names a reserved variable.
Status check_job_env_name(const std::string& name);

}  // namespace soulbox::jobs
