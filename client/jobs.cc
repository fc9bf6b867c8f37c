#include "client/jobs.h"

#include "bus/subjects.h"

namespace soulbox::client {
namespace bp = busproto;
namespace subjects = bus::subjects;

std::string encode_job(const std::string& tenant, const JobSpec& j) {
  bp::ExecuteJobT t;
  t.job_id = j.job_id;
  t.language = j.language;
  t.code = j.code;
  t.command = j.command;
  for (const auto& [path, data] : j.files) {
    auto f = std::make_unique<bp::JobFileT>();
    f->path = path;
    f->data.assign(data.begin(), data.end());
    t.files.push_back(std::move(f));
  }
  for (const auto& [k, v] : j.env) {
    auto kv = std::make_unique<bp::KeyValueT>();
    kv->key = k;
    kv->value = v;
    t.env.push_back(std::move(kv));
  }
  t.stdin.assign(j.stdin_data.begin(), j.stdin_data.end());
  t.timeout_ms = j.timeout_ms;
  t.memory_bytes = j.memory_bytes;
  t.reply_subject = j.reply_subject;
  t.artifacts = j.artifacts;
  bp::EnvelopeT env;
  env.request_id = j.job_id;
  env.tenant = tenant;
  env.principal = j.api_key;
  env.body.Set(std::move(t));
  flatbuffers::FlatBufferBuilder fbb(512);
  bp::FinishEnvelopeBuffer(fbb, bp::Envelope::Pack(fbb, &env));
  return bp::finish(fbb);
}

Result<JobResultView> decode_job_result(const std::string& bytes) {
  auto reply = bp::open_reply(bytes);
  if (!reply) return reply.error();
  if ((*reply)->code() != 0)
    return Error{ErrorCode((*reply)->code()), (*reply)->message() ? (*reply)->message()->str() : "error"};
  const auto* r = (*reply)->body_as_JobResult();
  if (!r) return Error{ErrorCode::protocol_error, "not a JobResult"};
  std::unique_ptr<bp::JobResultT> t(r->UnPack());
  JobResultView v;
  v.job_id = t->job_id;
  v.tenant = t->tenant;
  v.status = t->status;
  v.node = t->node;
  v.error_message = t->error_message;
  v.out.assign(t->stdout.begin(), t->stdout.end());
  v.err.assign(t->stderr.begin(), t->stderr.end());
  v.exit_code = t->exit_code;
  v.signal = t->signal;
  v.timed_out = t->timed_out;
  v.duplicate = t->duplicate;
  v.attempts = t->attempts;
  v.error_code = ErrorCode(t->error_code);
  v.started_unix_ms = t->started_unix_ms;
  v.finished_unix_ms = t->finished_unix_ms;
  for (const auto& f : t->artifacts) v.artifacts.emplace_back(f->path, std::string(f->data.begin(), f->data.end()));
  return v;
}

Result<std::unique_ptr<JobPublisher>> JobPublisher::open(bus::Connection& connection) {
  auto js = bus::JetStream::open(connection);
  if (!js) return js.error();
  return std::unique_ptr<JobPublisher>(new JobPublisher(connection, std::move(*js)));
}

Result<bus::PublishAck> JobPublisher::publish(const std::string& tenant, const JobSpec& job) {
  if (auto ok = subjects::check_token("tenant", tenant); !ok) return ok.error();
  if (auto ok = subjects::check_token("job_id", job.job_id); !ok) return ok.error();
  return js_->publish(subjects::jobs(tenant), encode_job(tenant, job), job.job_id);
}

Result<JobResultView> JobPublisher::lookup(const std::string& tenant, const std::string& job_id, int timeout_ms) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto q = bp::CreateJobLookup(fbb, fbb.CreateString(tenant), fbb.CreateString(job_id));
  bp::FinishEnvelopeBuffer(
      fbb, bp::CreateEnvelope(fbb, fbb.CreateString("lookup-" + job_id), 0, 0, 0, 0, bp::Body::JobLookup, q.Union()));
  auto reply = bus_.request(subjects::job_lookup(), bp::finish(fbb), timeout_ms);
  if (!reply) return reply.error();
  return decode_job_result(*reply);
}

}  // namespace soulbox::client
