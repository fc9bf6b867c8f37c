// Connect-RPC envelopes (the body of envd's process and filesystem RPCs):
// [flags][4-byte big-endian length][JSON] repeated, as the client sends
// them, then the one-message server-stream request routes read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/connect_frame.h"

namespace gw = soulbox::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  if (auto frames = gw::parse_connect_frames(body, /*max_message=*/1 << 16)) {
    std::string again;
    for (const auto& f : *frames) again += gw::connect_frame(f.json, f.flags);
    if (again != body) __builtin_trap();  // whole envelopes re-encode to the same bytes
  }
  (void)gw::stream_request(body, "Start");
  return 0;
}
