// The agent channel as the host reads it: bytes from a sandbox's agent
// (hostile) go through FrameReader (length check, FlatBuffers verification
// of Frame and every Body member), arriving in pieces of any size. Each
// frame it accepts is then read whole through the object API, which touches
// every field the verifier vouched for.
#include <cstddef>
#include <cstdint>
#include <string>

#include "messages/agent_protocol.h"

namespace ap = soulbox::agentproto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte sets the size of the pieces the stream arrives in.
  const size_t piece = size_t(data[0]) * 16 + 1;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  ap::FrameReader reader;
  for (size_t at = 0; at < n; at += piece) {
    reader.append(bytes + at, std::min(piece, n - at));
    for (;;) {
      const ap::Frame* frame = nullptr;
      const auto status = reader.next(frame);
      if (status == ap::FrameReader::Status::need_more) break;
      if (status == ap::FrameReader::Status::bad_frame) return 0;  // the host closes the channel
      ap::FrameT unpacked;
      frame->UnPackTo(&unpacked);
      // What the host keeps of a frame (agent/client, actors/agent_io).
      const std::string kept = reader.last_frame_bytes();
      if (kept.size() + 4 != reader.last_frame_encoded().size()) __builtin_trap();
    }
  }
  return 0;
}
