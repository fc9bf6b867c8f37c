#include "jobs/jobs_service.h"

#include <chrono>

#include "bus/jetstream.h"
#include "bus/subjects.h"
#include "client/client.h"
#include "common/log.h"
#include "jobs/acked_leftovers.h"
#include "jobs/job_environment.h"
#include "jobs/job_result.h"

namespace soulbox::jobs {
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

// One worker's connections: its own bus client (jobs wait on the bus) and
// its own subscription to the shared durable consumer.
struct Worker {
  std::unique_ptr<client::Client> client;
  std::unique_ptr<bus::JetStream> js;
  std::unique_ptr<bus::PullConsumer> consumer;
  std::unique_ptr<bus::KeyValueBucket> results;
};

Result<Worker> connect_worker(const bus::ConnectOptions& connect, const JobsSettings& s) {
  Worker w;
  auto c = client::Client::connect(connect);
  if (!c) return c.error();
  w.client = std::move(*c);
  auto js = bus::JetStream::open(w.client->connection());
  if (!js) return js.error();
  w.js = std::move(*js);
  auto consumer = w.js->pull_consumer(
      {subjects::kJobsStream, kJobsConsumer, subjects::all_jobs(), s.ack_wait_ms, s.max_deliver, 1000});
  if (!consumer) return consumer.error();
  w.consumer = std::move(*consumer);
  auto results = w.js->bucket({kResultsBucket, s.result_ttl_ms, -1});
  if (!results) return results.error();
  w.results = std::move(*results);
  return w;
}

class JobHandler {
 public:
  JobHandler(Worker& w, const JobsSettings& s, const bus::Delivery& d) : w_(w), s_(s), d_(d) {}

  // Settles the delivery; true when a result was produced by running the job.
  bool handle() {
    who_.tenant = subjects::last_token(d_.subject);
    who_.node = s_.node_id;
    who_.attempts = uint32_t(d_.delivered);
    auto env = bp::open_envelope(d_.data);
    if (!env || !(*env)->body_as_ExecuteJob() || !subjects::valid_token(who_.tenant))
      return dead_letter("not a verifiable ExecuteJob envelope");
    const bp::ExecuteJob& job = *(*env)->body_as_ExecuteJob();
    who_.job_id = job.job_id()->str();
    if (!subjects::valid_token(who_.job_id)) return dead_letter("job_id must be 1-64 characters of [A-Za-z0-9_-]");
    if ((*env)->tenant() && (*env)->tenant()->size() && (*env)->tenant()->str() != who_.tenant)
      return dead_letter("the envelope's tenant is not the subject's");
    key_ = idempotency_key(who_.tenant, who_.job_id);
    reply_to_ = job.reply_subject() ? job.reply_subject()->str() : "";
    if (auto allowed = authorised(**env); !allowed) {
      // Not stored: an unauthorised publisher must not decide what the
      // tenant's own job with this id gets.
      if (subjects::check_reply_subject(reply_to_))
        publish(encode_refusal(who_, "failed", allowed.error().code, allowed.error().message));
      (void)d_.ack->term();
      return false;
    }
    if (!reply_to_.empty())
      if (auto ok = subjects::check_reply_subject(reply_to_); !ok) {
        reply_to_.clear();
        return settle_with(encode_refusal(who_, "failed", ErrorCode::invalid_argument, ok.error().message));
      }
    auto stored = w_.results->get(key_);
    if (!stored) return retry_later("result lookup: " + stored.error().message);
    if (stored->has_value()) return answer_duplicate(**stored);
    if (int(d_.delivered) >= s_.max_deliver) {
      publish_dead(d_.data);
      return settle_with(encode_refusal(who_, "dead", ErrorCode::resource_exhausted,
                                        "delivered " + std::to_string(d_.delivered) +
                                            " times without finishing (poison job); sent to " +
                                            subjects::job_dead_letter(who_.tenant)));
    }
    JobOutcome outcome = run_job(*w_.client, job, who_.tenant, s_.node_id, who_.attempts, s_.runner,
                                 [&] { (void)d_.ack->in_progress(); });
    if (outcome.retry) return retry_later(outcome.error_message);
    settle_with(encode_result(who_, outcome));
    return outcome.status == "completed";
  }

 private:
  // Stores the result unless another delivery stored one first, publishes
  // whichever is stored, then acks.
  bool settle_with(const std::string& result) {
    auto created = w_.results->create(key_, result);
    if (!created) return retry_later("storing the result: " + created.error().message);
    if (!*created) {
      auto stored = w_.results->get(key_);
      if (stored && stored->has_value()) return answer_duplicate(**stored);
    }
    publish(result);
    (void)d_.ack->ack();
    return false;
  }

  // Publishing for a tenant with a record takes one of its API keys, able
  // to execute sandboxes, as the envelope's principal.
  Status authorised(const bp::Envelope& env) const {
    if (!s_.tenants || !s_.tenants->has_tenant(who_.tenant)) return {};
    const Error denied{ErrorCode::permission_denied,
                       "jobs for tenant " + who_.tenant + " need one of its API keys that may execute sandboxes"};
    auto who = s_.tenants->authenticate(env.principal() ? env.principal()->str() : "");
    if (!who || who->tenant != who_.tenant) return denied;
    if (!tenants::authorize(tenants::builtin_roles(), who->roles, tenants::Resource::sandbox, tenants::Action::execute,
                            true))
      return denied;
    return {};
  }

  bool answer_duplicate(const std::string& stored) {
    if (auto again = mark_duplicate(stored)) publish(*again);
    (void)d_.ack->ack();
    return false;
  }

  void publish(const std::string& result) {
    if (reply_to_.empty()) return;
    if (auto st = w_.client->connection().publish(reply_to_, result); !st)
      logger("jobs")->warn("job {}: result not delivered to {}: {}", who_.job_id, reply_to_, st.error().message);
  }

  void publish_dead(const std::string& original) {
    (void)w_.client->connection().publish(subjects::job_dead_letter(who_.tenant), original);
  }

  bool dead_letter(const std::string& why) {
    logger("jobs")->warn("job on {} (delivery {}) refused: {}", d_.subject, d_.delivered, why);
    if (subjects::valid_token(who_.tenant)) publish_dead(d_.data);
    (void)d_.ack->term();
    return false;
  }

  bool retry_later(const std::string& why) {
    logger("jobs")->info("job {}: delivering again later: {}", who_.job_id, why);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // no hot loop while capacity is short
    (void)d_.ack->nak();
    return false;
  }

  Worker& w_;
  const JobsSettings& s_;
  const bus::Delivery& d_;
  JobIdentity who_;
  std::string reply_to_, key_;
};

// sb.v1.jobres.get: a stored result by tenant and job id.
std::string lookup_answer(bus::KeyValueBucket& results, const std::string& request) {
  auto env = bp::open_envelope(request);
  if (!env) return bp::error_reply("", env.error().code, env.error().message);
  const std::string request_id = (*env)->request_id()->str();
  const auto* q = (*env)->body_as_JobLookup();
  if (!q) return bp::error_reply(request_id, ErrorCode::invalid_argument, "sb.v1.jobres.get needs a JobLookup body");
  if ((*env)->tenant() && (*env)->tenant()->size() && (*env)->tenant()->str() != q->tenant()->str())
    return bp::error_reply(request_id, ErrorCode::permission_denied, "another tenant's job");
  if (!subjects::valid_token(q->tenant()->str()) || !subjects::valid_token(q->job_id()->str()))
    return bp::error_reply(request_id, ErrorCode::invalid_argument, "tenant and job_id must be valid tokens");
  auto stored = results.get(idempotency_key(q->tenant()->str(), q->job_id()->str()));
  if (!stored) return bp::error_reply(request_id, stored.error().code, stored.error().message);
  if (!stored->has_value())
    return bp::error_reply(request_id, ErrorCode::not_found, "no result for job " + q->job_id()->str() + " (yet)");
  return **stored;
}

}  // namespace

Result<std::unique_ptr<JobsService>> JobsService::start(const bus::ConnectOptions& connect,
                                                        const JobsSettings& settings) {
  std::unique_ptr<JobsService> service(new JobsService(connect, settings));
  auto bus = bus::Connection::connect(connect);
  if (!bus) return bus.error();
  service->lookup_bus_ = std::move(*bus);
  auto js = bus::JetStream::open(*service->lookup_bus_);
  if (!js) return js.error();
  auto results = (*js)->bucket({kResultsBucket, settings.result_ttl_ms, -1});
  if (!results) return results.error();
  std::shared_ptr<bus::KeyValueBucket> bucket(std::move(*results));
  auto* conn = service->lookup_bus_.get();
  auto sub = conn->subscribe(subjects::job_lookup(), "jobs", [conn, bucket](bus::Message m) {
    if (!m.reply.empty()) (void)conn->publish(m.reply, lookup_answer(*bucket, m.data));
  });
  if (!sub) return sub.error();
  service->lookup_ = std::move(*sub);
  if (auto flushed = conn->flush(2000); !flushed) return flushed.error();
  for (int i = 0; i < settings.workers; ++i) service->workers_.emplace_back([p = service.get(), i] { p->work(i); });
  service->leftover_sweeper_ = std::thread([p = service.get()] {
    remove_acked_leftovers_after_reconnects(*p->lookup_bus_,
                                            {subjects::kJobsStream, kJobsConsumer, subjects::all_jobs()}, p->stopping_);
  });
  return service;
}

JobsService::~JobsService() {
  stopping_ = true;
  for (auto& w : workers_) w.join();
  if (leftover_sweeper_.joinable()) leftover_sweeper_.join();
  lookup_.reset();
}

void JobsService::work(int index) {
  Result<Worker> worker = Error{ErrorCode::unavailable, "not connected"};
  while (!stopping_) {
    worker = connect_worker(connect_, settings_);
    if (worker) break;
    logger("jobs")->warn("jobs worker {}: {}; retrying", index, worker.error().message);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  while (!stopping_) {
    auto batch = worker->consumer->fetch(1, 500);
    if (!batch) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    for (const auto& delivery : *batch) {
      JobHandler handler(*worker, settings_, delivery);
      if (handler.handle()) ++completed_;
    }
  }
}

}  // namespace soulbox::jobs
