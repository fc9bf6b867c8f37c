// Building and reading JobResult messages (a Reply whose body is a JobResult).
#pragma once
#include <string>

#include "jobs/job_runner.h"

namespace soulbox::jobs {

struct JobIdentity {
  std::string job_id, tenant, node;
  uint32_t attempts = 1;
};

std::string encode_result(const JobIdentity& who, const JobOutcome& outcome);
// A result for a job that never ran: status "failed" or "dead".
std::string encode_refusal(const JobIdentity& who, const std::string& status, ErrorCode code,
                           const std::string& message);
// The stored result again, marked duplicate (nullopt if unreadable).
std::optional<std::string> mark_duplicate(const std::string& stored);

}  // namespace soulbox::jobs
