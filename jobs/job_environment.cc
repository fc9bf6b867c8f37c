#include "jobs/job_environment.h"

namespace soulbox::jobs {

std::string idempotency_key(const std::string& tenant, const std::string& job_id) {
  return tenant + "." + job_id;
}

std::vector<std::string> delivery_environment(const std::string& tenant, const std::string& job_id, uint32_t attempt) {
  return {std::string(kJobIdEnv) + "=" + job_id,
          std::string(kIdempotencyKeyEnv) + "=" + idempotency_key(tenant, job_id),
          std::string(kAttemptEnv) + "=" + std::to_string(attempt)};
}

Status check_job_env_name(const std::string& name) {
  if (name.rfind(kReservedEnvPrefix, 0) == 0)
    return Error{ErrorCode::invalid_argument, "env " + name + ": names starting " + kReservedEnvPrefix +
                                                  " are set by SoulBox (the job's id, idempotency key and attempt)"};
  return {};
}

}  // namespace soulbox::jobs
