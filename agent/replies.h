// Builders for the frames the agent sends.
#pragma once
#include <string>

#include "agent/channel.h"
#include "common/error_code.h"

namespace soulbox::agent {

void reply_error(Channel& channel, uint64_t id, ErrorCode code, const std::string& message);

template <class Build>
void send_frame(Channel& channel, uint64_t id, Build build) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto [type, body] = build(fbb);
  agentproto::FinishFrameBuffer(fbb, agentproto::CreateFrame(fbb, id, type, body));
  // The host refuses frames over the limit and would drop the channel: say
  // what happened instead.
  if (fbb.GetSize() > agentproto::kMaxFrameBytes)
    return reply_error(channel, id, ErrorCode::resource_exhausted,
                       "the reply would be larger than " + std::to_string(agentproto::kMaxFrameBytes >> 20) + " MiB");
  channel.send(fbb);
}

inline void reply_ok(Channel& channel, uint64_t id) {
  send_frame(channel, id, [](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(agentproto::Body::Ok, agentproto::CreateOk(fbb).Union());
  });
}

inline void reply_error(Channel& channel, uint64_t id, ErrorCode code, const std::string& message) {
  send_frame(channel, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto msg = fbb.CreateString(message);
    return std::make_pair(agentproto::Body::ErrorReply, agentproto::CreateErrorReply(fbb, uint16_t(code), msg).Union());
  });
}

// Maps an errno from a file or process operation to a stable code.
inline ErrorCode code_for_errno(int err) {
  switch (err) {
    case ENOENT:
      return ErrorCode::not_found;
    case EEXIST:
    case ENOTEMPTY:
      return ErrorCode::already_exists;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorCode::permission_denied;
    case ENOTDIR:
      return ErrorCode::not_a_directory;
    case EISDIR:
      return ErrorCode::is_a_directory;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case EFBIG:
    case ENOMEM:
    case EAGAIN:
      return ErrorCode::resource_exhausted;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
      return ErrorCode::invalid_argument;
    case EXDEV:
      return ErrorCode::path_escape;
    default:
      return ErrorCode::io_error;
  }
}

}  // namespace soulbox::agent
