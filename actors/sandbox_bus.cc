#include "actors/sandbox_bus.h"

#include "actors/sandbox_record.h"
#include "common/log.h"
#include "messages/agent_protocol.h"

namespace soulbox::actors {
namespace ap = agentproto;
namespace bp = busproto;

void publish(SandboxSelf* self, const std::string& subject, const std::string& bytes) {
  if (subject.empty()) return;
  if (auto st = self->state.ctx->bus->publish(subject, bytes); !st)
    logger("sandbox")->warn("{}: publish to {} failed: {}", self->state.settings.id, subject, st.error().message);
}

void publish_events(SandboxSelf* self, const PendingCall& call, const std::string& bytes) {
  publish(self, call.events_subject, bytes);
  for (const auto& subject : call.attached_subjects) publish(self, subject, bytes);
}

void reply_error(SandboxSelf* self, const std::string& reply_to, const std::string& request_id, ErrorCode code,
                 const std::string& message) {
  publish(self, reply_to, bp::error_reply(request_id, code, message));
}

std::string info_reply(SandboxSelf* self, const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto info = build_sandbox_info(fbb, record_of(self->state));
  bp::FinishReplyBuffer(fbb,
                        bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::SandboxInfo, info.Union()));
  return bp::finish(fbb);
}

std::string ok_reply(const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto ok = ap::CreateOk(fbb);
  bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::Ok, ok.Union()));
  return bp::finish(fbb);
}

std::string principal_of(const bp::Envelope& env) {
  return env.principal() ? env.principal()->str() : "";
}

}  // namespace soulbox::actors
