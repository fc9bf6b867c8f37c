#include "actors/sandbox_replies.h"

#include <map>
#include <string_view>
#include <vector>

#include "actors/agent_forward.h"
#include "actors/sandbox_audit.h"
#include "actors/sandbox_bus.h"
#include "actors/sandbox_lifecycle.h"
#include "actors/sandbox_uploads.h"
#include "common/log.h"
#include "messages/agent_protocol.h"

namespace soulbox::actors {
namespace ap = agentproto;
namespace bp = busproto;

namespace {

using Kind = PendingCall::Kind;
using Waiting = std::unordered_map<uint64_t, PendingCall>::iterator;

// Audits the answer when the call's op names an audit action.
void audited(SandboxSelf* self, const PendingCall& call, bool ok) {
  if (!call.audit_action.empty())
    audit_event(self, call.audit_action, ok ? "ok" : "error", call.principal, call.audit_path);
}

// The answer that opens a stream: its Reply goes to the requester, the rest
// to the stream's subject(s).
void answer_started(SandboxSelf* self, PendingCall& call, bp::Body type, flatbuffers::Offset<void> body,
                    flatbuffers::FlatBufferBuilder& fbb) {
  bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(call.request_id), 0, 0, type, body));
  publish(self, call.reply_to, bp::finish(fbb));
  call.reply_to.clear();
}

// A stream's request refused by the agent before it started: the error is
// the answer and nothing follows.
void answer_refused(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  publish(self, it->second.reply_to, reply_from_agent(frame, it->second.request_id));
  self->state.pending.erase(it);
}

// exec: ProcStarted -> ExecStarted, then output and the end on the events.
void answer_exec(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  PendingCall& call = it->second;
  if (frame.body_type() == ap::Body::ProcStarted && !call.reply_to.empty()) {
    audited(self, call, true);
    call.pid = frame.body_as_ProcStarted()->pid();
    flatbuffers::FlatBufferBuilder fbb(256);
    auto started = bp::CreateExecStarted(fbb, call.pid, fbb.CreateString(call.events_subject));
    return answer_started(self, call, bp::Body::ExecStarted, started.Union(), fbb);
  }
  if (!call.reply_to.empty()) {  // refused before it started
    audited(self, call, false);
    return answer_refused(self, it, frame);
  }
  publish_events(self, call, reply_from_agent(frame, call.request_id));
  if (frame.body_type() == ap::Body::ProcEnd) self->state.pending.erase(it);
}

// watch: WatchStarted -> WatchOpened, then WatchEvents on the events.
void answer_watch(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  PendingCall& call = it->second;
  if (frame.body_type() == ap::Body::WatchStarted && !call.reply_to.empty()) {
    call.watch_id = frame.body_as_WatchStarted()->watch_id();
    flatbuffers::FlatBufferBuilder fbb(256);
    auto opened = bp::CreateWatchOpened(fbb, call.watch_id, fbb.CreateString(call.events_subject));
    return answer_started(self, call, bp::Body::WatchOpened, opened.Union(), fbb);
  }
  if (!call.reply_to.empty()) return answer_refused(self, it, frame);
  publish(self, call.events_subject, reply_from_agent(frame, call.request_id));
}

// code: CodeAccepted -> CodeStarted, then CodeEvents and CodeEnd on the
// events (gathered per read: on_agent_frames).
void answer_code(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  PendingCall& call = it->second;
  if (frame.body_type() == ap::Body::CodeAccepted && !call.reply_to.empty()) {
    audited(self, call, true);
    const auto* accepted = frame.body_as_CodeAccepted();
    flatbuffers::FlatBufferBuilder fbb(256);
    auto started =
        bp::CreateCodeStarted(fbb, fbb.CreateString(accepted->context_id() ? accepted->context_id()->str() : ""),
                              accepted->pid(), fbb.CreateString(call.events_subject), accepted->execution_count());
    return answer_started(self, call, bp::Body::CodeStarted, started.Union(), fbb);
  }
  if (!call.reply_to.empty()) {  // refused before it ran
    audited(self, call, false);
    return answer_refused(self, it, frame);
  }
  publish(self, call.events_subject, reply_from_agent(frame, call.request_id));
  if (frame.body_type() == ap::Body::CodeEnd) self->state.pending.erase(it);
}

// read: FileChunks gathered into one Reply, up to one bus message.
void answer_read(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  PendingCall& call = it->second;
  if (const auto* chunk = frame.body_as_FileChunk()) {
    if (chunk->data() && !call.overflow) {
      call.data.append(reinterpret_cast<const char*>(chunk->data()->data()), chunk->data()->size());
      call.overflow = call.data.size() + 4096 > bp::kMaxBusMessageBytes;
    }
    if (!chunk->eof()) return;
    audited(self, call, !call.overflow);
    if (call.overflow)
      reply_error(self, call.reply_to, call.request_id, ErrorCode::resource_exhausted,
                  "the file is larger than one bus message (" + std::to_string(bp::kMaxBusMessageBytes >> 20) +
                      " MiB); read it in parts with offset and length");
    else
      publish(self, call.reply_to, file_data_reply(call.request_id, call.data));
  } else {
    audited(self, call, false);
    publish(self, call.reply_to, reply_from_agent(frame, call.request_id));
  }
  self->state.pending.erase(it);
}

// reply: one answer frame -> one Reply.
void answer_reply(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  audited(self, it->second, frame.body_type() != ap::Body::ErrorReply);
  publish(self, it->second.reply_to, reply_from_agent(frame, it->second.request_id));
  self->state.pending.erase(it);
}

// unwatch: Ok -> also forget the watch's stream; answered as a reply.
void answer_unwatch(SandboxSelf* self, Waiting it, const ap::Frame& frame) {
  auto& pending = self->state.pending;
  if (frame.body_type() == ap::Body::Ok) {
    for (auto w = pending.begin(); w != pending.end(); ++w) {
      if (w->second.kind == Kind::watch && w->second.watch_id == it->second.watch_id) {
        pending.erase(w);  // leaves `it` valid: it is not a watch
        break;
      }
    }
  }
  answer_reply(self, it, frame);
}

void on_agent_frame(SandboxSelf* self, std::string_view bytes) {
  auto& st = self->state;
  const ap::Frame* frame = ap::GetFrame(reinterpret_cast<const uint8_t*>(bytes.data()));
  if (frame->id() == 0) {  // Hello
    const auto* hello = frame->body_as_Hello();
    if (hello && hello->protocol_version() < ap::kMinAgentProtocolVersion) {
      logger("sandbox")->error("{}: agent speaks protocol {}, need >= {}", st.settings.id, hello->protocol_version(),
                               ap::kMinAgentProtocolVersion);
      end_sandbox(self, end_reason::agent_died);
    }
    return;
  }
  auto it = st.pending.find(frame->id());
  if (it == st.pending.end()) {
    note_upload_failure(self, *frame);
    return;  // else a stream the client stopped
  }
  switch (it->second.kind) {
    case Kind::exec:
      return answer_exec(self, it, *frame);
    case Kind::watch:
      return answer_watch(self, it, *frame);
    case Kind::code:
      return answer_code(self, it, *frame);
    case Kind::read:
      return answer_read(self, it, *frame);
    case Kind::unwatch:
      return answer_unwatch(self, it, *frame);
    case Kind::reply:
      return answer_reply(self, it, *frame);
  }
}

// A running cell's events from one batch, published as one CodeEvents.
struct CodeBurst {
  std::vector<const ap::Frame*> frames;
  size_t bytes = 0;
};

void publish_burst(SandboxSelf* self, uint64_t id, const CodeBurst& burst) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end() || burst.frames.empty()) return;
  PendingCall& call = it->second;
  bp::ReplyT reply;
  reply.request_id = call.request_id;
  bp::CodeEventsT events;
  bool ended = false;
  for (const ap::Frame* f : burst.frames) {
    if (const auto* e = f->body_as_CodeEvent()) events.events.emplace_back(e->UnPack());
    if (const auto* end = f->body_as_CodeEnd()) {
      events.end.reset(end->UnPack());
      ended = true;
    }
  }
  reply.body.Set(std::move(events));
  flatbuffers::FlatBufferBuilder fbb(256 + burst.bytes);
  bp::FinishReplyBuffer(fbb, bp::Reply::Pack(fbb, &reply));
  publish(self, call.events_subject, bp::finish(fbb));
  if (ended) st.pending.erase(it);
}

}  // namespace

// Frames from the agent, as one read brought them: a running cell's events
// and end are gathered per cell into one bus message (kept under 1 MiB);
// everything else is handled frame by frame, in order.
void on_agent_frames(SandboxSelf* self, const std::string& batch) {
  constexpr size_t kMaxBurstBytes = 1u << 20;
  std::map<uint64_t, CodeBurst> bursts;
  for (size_t at = 0; at + 4 <= batch.size();) {
    const auto* p = reinterpret_cast<const unsigned char*>(batch.data() + at);
    const uint32_t n = p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24);
    const std::string_view bytes(batch.data() + at + 4, n);
    at += 4 + size_t(n);
    const ap::Frame* frame = ap::GetFrame(reinterpret_cast<const uint8_t*>(bytes.data()));
    auto call = self->state.pending.find(frame->id());
    const bool cell_event = call != self->state.pending.end() && call->second.kind == Kind::code &&
                            call->second.reply_to.empty() && call->second.attached_subjects.empty() &&
                            (frame->body_type() == ap::Body::CodeEvent || frame->body_type() == ap::Body::CodeEnd);
    if (!cell_event) {
      on_agent_frame(self, bytes);
      continue;
    }
    CodeBurst& burst = bursts[frame->id()];
    burst.frames.push_back(frame);
    burst.bytes += n;
    if (burst.bytes > kMaxBurstBytes || frame->body_type() == ap::Body::CodeEnd) {
      publish_burst(self, frame->id(), burst);
      bursts.erase(frame->id());
    }
  }
  for (const auto& [id, burst] : bursts) publish_burst(self, id, burst);
}

}  // namespace soulbox::actors
