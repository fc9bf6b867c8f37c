#include "actors/agent_forward.h"

#include <memory>

#include "messages/agent_protocol.h"

namespace soulbox::actors {
namespace ap = agentproto;
namespace bp = busproto;

namespace {

std::string encode(ap::FrameT& frame) {
  flatbuffers::FlatBufferBuilder fbb(256);
  ap::FinishFrameBuffer(fbb, ap::Frame::Pack(fbb, &frame));
  return ap::encode_frame(fbb);
}

std::string encode(bp::ReplyT& reply) {
  flatbuffers::FlatBufferBuilder fbb(256);
  bp::FinishReplyBuffer(fbb, bp::Reply::Pack(fbb, &reply));
  return bp::finish(fbb);
}

// KEY of a KEY=VALUE entry.
std::string key_of(const std::string& entry) {
  return entry.substr(0, entry.find('='));
}

// The sandbox's KEY=VALUE entries with the caller's over them.
std::vector<std::string> merged_env(const std::vector<std::string>& sandbox_env, const std::vector<std::string>& own) {
  std::vector<std::string> env = sandbox_env;
  for (const auto& entry : own) {  // the caller's value wins
    const std::string key = key_of(entry);
    env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& e) { return key_of(e) == key; }),
              env.end());
    env.push_back(entry);
  }
  return env;
}

}  // namespace

std::optional<std::string> forward_request(const bp::Envelope& envelope, uint64_t frame_id) {
  ap::FrameT frame;
  frame.id = frame_id;
  switch (envelope.body_type()) {
#define SOULBOX_FORWARD(name)                               \
  case bp::Body::name:                                      \
    frame.body.type = ap::Body::name;                       \
    frame.body.value = envelope.body_as_##name()->UnPack(); \
    break;
    SOULBOX_FORWARDED_REQUESTS(SOULBOX_FORWARD)
#undef SOULBOX_FORWARD
    default:
      return std::nullopt;
  }
  return encode(frame);
}

std::string process_start_frame(uint64_t frame_id, const ap::ProcStart& start,
                                const std::vector<std::string>& sandbox_env) {
  std::unique_ptr<ap::ProcStartT> t(start.UnPack());
  t->env = merged_env(sandbox_env, t->env);
  ap::FrameT frame;
  frame.id = frame_id;
  frame.body.Set(std::move(*t));
  return encode(frame);
}

std::string watch_start_frame(uint64_t frame_id, const ap::WatchStart& watch) {
  std::unique_ptr<ap::WatchStartT> t(watch.UnPack());
  ap::FrameT frame;
  frame.id = frame_id;
  frame.body.Set(std::move(*t));
  return encode(frame);
}

std::string file_write_frame(uint64_t frame_id, const ap::FileWrite& write) {
  std::unique_ptr<ap::FileWriteT> t(write.UnPack());
  ap::FrameT frame;
  frame.id = frame_id;
  frame.body.Set(std::move(*t));
  return encode(frame);
}

std::string code_run_frame(uint64_t frame_id, const ap::CodeRun& run, const std::vector<std::string>& sandbox_env) {
  std::unique_ptr<ap::CodeRunT> t(run.UnPack());
  t->env = merged_env(sandbox_env, t->env);
  ap::FrameT frame;
  frame.id = frame_id;
  frame.body.Set(std::move(*t));
  return encode(frame);
}

std::string reply_from_agent(const ap::Frame& frame, const std::string& request_id) {
  bp::ReplyT reply;
  reply.request_id = request_id;
  switch (frame.body_type()) {
#define SOULBOX_BACK(name)                               \
  case ap::Body::name:                                   \
    reply.body.type = bp::Body::name;                    \
    reply.body.value = frame.body_as_##name()->UnPack(); \
    break;
    SOULBOX_FORWARDED_REPLIES(SOULBOX_BACK)
#undef SOULBOX_BACK
    case ap::Body::ErrorReply: {
      const auto* e = frame.body_as_ErrorReply();
      reply.code = e->code() == 0 ? uint16_t(ErrorCode::internal) : e->code();
      reply.message = e->message() ? e->message()->str() : "agent error";
      break;
    }
    default:
      reply.code = uint16_t(ErrorCode::internal);
      reply.message = std::string("unexpected agent answer ") + ap::EnumNameBody(frame.body_type());
  }
  return encode(reply);
}

std::string file_data_reply(const std::string& request_id, const std::string& data) {
  bp::ReplyT reply;
  reply.request_id = request_id;
  ap::FileChunkT chunk;
  chunk.data.assign(data.begin(), data.end());
  chunk.eof = true;
  reply.body.Set(std::move(chunk));
  return encode(reply);
}

}  // namespace soulbox::actors
