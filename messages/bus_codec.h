// Verification and error replies for bus messages. Every received buffer
// goes through open_envelope/open_reply before any field is read.
#pragma once
#include <string>

#include "bus_envelope_generated.h"
#include "bus_reply_generated.h"
#include "common/result.h"

namespace soulbox::busproto {

// The embedded nats-server's max_payload: a file of up to ~7 MiB fits in one
// FileWrite or FileChunk.
inline constexpr size_t kMaxBusMessageBytes = 8u << 20;

namespace detail {
template <class T>
Result<const T*> open(const std::string& bytes, const char* identifier, const char* what) {
  if (bytes.size() > kMaxBusMessageBytes)
    return Error{ErrorCode::invalid_argument,
                 std::string(what) + " larger than " + std::to_string(kMaxBusMessageBytes >> 20) + " MiB"};
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size(), /*max_depth=*/32, /*max_tables=*/100000);
  if (bytes.size() < 8 || !flatbuffers::BufferHasIdentifier(data, identifier) || !verifier.VerifyBuffer<T>(identifier))
    return Error{ErrorCode::protocol_error, std::string("malformed ") + what};
  return flatbuffers::GetRoot<T>(data);
}
}  // namespace detail

// The result points into `bytes`, which must outlive it (so temporaries
// are refused at compile time).
inline Result<const Envelope*> open_envelope(const std::string& bytes) {
  return detail::open<Envelope>(bytes, EnvelopeIdentifier(), "envelope");
}
Result<const Envelope*> open_envelope(std::string&& bytes) = delete;

inline Result<const Reply*> open_reply(const std::string& bytes) {
  return detail::open<Reply>(bytes, ReplyIdentifier(), "reply");
}
Result<const Reply*> open_reply(std::string&& bytes) = delete;

inline std::vector<std::string> envelope_roles(const Envelope& env) {
  std::vector<std::string> out;
  if (env.roles())
    for (const auto* r : *env.roles()) out.push_back(r->str());
  return out;
}

inline std::string finish(flatbuffers::FlatBufferBuilder& fbb) {
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

inline std::string error_reply(const std::string& request_id, ErrorCode code, const std::string& message) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto reply = CreateReply(fbb, fbb.CreateString(request_id), uint16_t(code), fbb.CreateString(message));
  FinishReplyBuffer(fbb, reply);
  return finish(fbb);
}

}  // namespace soulbox::busproto
