// Publishing jobs to SB_JOBS and reading their results (docs/jobs.md).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bus/jetstream.h"
#include "messages/bus_codec.h"

namespace soulbox::client {

struct JobSpec {
  std::string job_id;
  std::string language, code;  // or
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> files, env;  // path/data, key/value
  std::string stdin_data;
  uint32_t timeout_ms = 0;
  uint64_t memory_bytes = 0;
  std::string reply_subject;
  std::vector<std::string> artifacts;
  std::string api_key;  // the tenant's key (sb_...), sent as the envelope's principal
};

struct JobResultView {
  std::string job_id, tenant, status, node, error_message;
  std::string out, err;
  int exit_code = -1, signal = 0;
  bool timed_out = false, duplicate = false;
  uint32_t attempts = 0;
  ErrorCode error_code = ErrorCode::ok;
  int64_t started_unix_ms = 0, finished_unix_ms = 0;
  std::vector<std::pair<std::string, std::string>> artifacts;
};

std::string encode_job(const std::string& tenant, const JobSpec& job);
Result<JobResultView> decode_job_result(const std::string& reply);

class JobPublisher {
 public:
  static Result<std::unique_ptr<JobPublisher>> open(bus::Connection& connection);
  // To sb.v1.jobs.<tenant>, deduplicated by job_id (Nats-Msg-Id).
  Result<bus::PublishAck> publish(const std::string& tenant, const JobSpec& job);
  // The stored result (not_found while it runs).
  Result<JobResultView> lookup(const std::string& tenant, const std::string& job_id, int timeout_ms = 5000);

 private:
  JobPublisher(bus::Connection& c, std::unique_ptr<bus::JetStream> js) : bus_(c), js_(std::move(js)) {}
  bus::Connection& bus_;
  std::unique_ptr<bus::JetStream> js_;
};

}  // namespace soulbox::client
