#include "jobs/job_result.h"

namespace soulbox::jobs {
namespace bp = busproto;

namespace {

std::string finish(bp::JobResultT& r) {
  bp::ReplyT reply;
  reply.request_id = r.job_id;
  reply.body.Set(std::move(r));
  flatbuffers::FlatBufferBuilder fbb(1024);
  bp::FinishReplyBuffer(fbb, bp::Reply::Pack(fbb, &reply));
  return bp::finish(fbb);
}

bp::JobResultT base(const JobIdentity& who) {
  bp::JobResultT r;
  r.job_id = who.job_id;
  r.tenant = who.tenant;
  r.node = who.node;
  r.attempts = who.attempts;
  return r;
}

}  // namespace

std::string encode_result(const JobIdentity& who, const JobOutcome& o) {
  bp::JobResultT r = base(who);
  r.status = o.status;
  r.exit_code = o.process.exit_code;
  r.signal = o.process.signal;
  r.stdout.assign(o.process.out.begin(), o.process.out.end());
  r.stderr.assign(o.process.err.begin(), o.process.err.end());
  r.timed_out = o.process.timed_out;
  r.truncated = o.process.truncated;
  r.wall_us = o.process.wall_us;
  r.cpu_us = o.process.cpu_us;
  r.peak_rss_kb = o.process.peak_rss_kb;
  r.started_unix_ms = o.started_unix_ms;
  r.finished_unix_ms = o.finished_unix_ms;
  for (const auto& [path, data] : o.artifacts) {
    auto f = std::make_unique<bp::JobFileT>();
    f->path = path;
    f->data.assign(data.begin(), data.end());
    r.artifacts.push_back(std::move(f));
  }
  r.error_code = uint16_t(o.error_code);
  r.error_message = o.error_message;
  return finish(r);
}

std::string encode_refusal(const JobIdentity& who, const std::string& status, ErrorCode code,
                           const std::string& message) {
  bp::JobResultT r = base(who);
  r.status = status;
  r.error_code = uint16_t(code);
  r.error_message = message;
  return finish(r);
}

std::optional<std::string> mark_duplicate(const std::string& stored) {
  auto reply = bp::open_reply(stored);
  if (!reply || !(*reply)->body_as_JobResult()) return std::nullopt;
  std::unique_ptr<bp::JobResultT> r((*reply)->body_as_JobResult()->UnPack());
  r->duplicate = true;
  return finish(*r);
}

}  // namespace soulbox::jobs
