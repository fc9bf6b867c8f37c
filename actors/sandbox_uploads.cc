#include "actors/sandbox_uploads.h"

#include "actors/agent_forward.h"
#include "actors/sandbox_audit.h"
#include "actors/sandbox_bus.h"
#include "actors/sandbox_requests.h"

namespace soulbox::actors {
namespace ap = agentproto;

namespace {

constexpr size_t kMaxUploads = 64;

}  // namespace

void on_upload(SandboxSelf* self, const OpRequest& r) {
  auto& st = self->state;
  const bus::Message& m = r.message;
  const auto* upload = r.envelope.body_as_FileUpload();
  const std::string upload_id = upload->upload_id()->str();
  const ap::FileWrite& part = *upload->part();
  auto it = st.uploads.find(upload_id);
  if (it == st.uploads.end()) {
    if (!part.path()) {
      reply_error(self, m.reply, r.request_id, ErrorCode::not_found, "no upload '" + upload_id + "' in progress");
      return;
    }
    if (st.uploads.size() >= kMaxUploads) {
      reply_error(self, m.reply, r.request_id, ErrorCode::resource_exhausted,
                  "too many uploads in progress in sandbox " + st.settings.id);
      return;
    }
    it = st.uploads.emplace(upload_id, Upload{st.next_frame_id++, part.path()->str(), std::nullopt}).first;
  }
  Upload& u = it->second;
  const bool final = part.final();
  if (!final) {
    if (u.failed) {
      reply_error(self, m.reply, r.request_id, u.failed->code, u.failed->message);
      return;
    }
    if (auto sent = send_frame(self, file_write_frame(u.frame_id, part)); !sent) {
      reply_error(self, m.reply, r.request_id, ErrorCode::unavailable, sent.error().message);
      return;
    }
    publish(self, m.reply, ok_reply(r.request_id));
    return;
  }
  const Upload done = u;
  st.uploads.erase(it);
  PendingCall call = call_for(r);
  call.audit_path = done.path;
  if (done.failed) {  // the agent forgets the failed write at its last frame and answers nothing
    (void)send_frame(self, file_write_frame(done.frame_id, part));
    audit_event(self, call.audit_action, "error", call.principal, call.audit_path);
    reply_error(self, m.reply, r.request_id, done.failed->code, done.failed->message);
    return;
  }
  call_agent(self, file_write_frame(done.frame_id, part), done.frame_id, std::move(call));
}

void note_upload_failure(SandboxSelf* self, const ap::Frame& frame) {
  const auto* e = frame.body_as_ErrorReply();
  if (!e) return;
  for (auto& [id, upload] : self->state.uploads)
    if (upload.frame_id == frame.id() && !upload.failed)
      upload.failed = Error{ErrorCode(e->code()), e->message() ? e->message()->str() : "upload failed"};
}

}  // namespace soulbox::actors
