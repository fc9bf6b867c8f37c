// Connect-RPC's streaming envelopes (the JSON codec, as E2B's SDKs speak
// it): [1 byte flags][4 bytes big-endian length][JSON]. Flag 0x02 marks the
// end-of-stream message; 0x01 (compressed) is refused.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

constexpr uint8_t kEndOfStream = 0x02;

std::string connect_frame(const std::string& json, uint8_t flags = 0);
// The end-of-stream frame: `{}`, or the error in Connect's shape.
std::string connect_end(const Error* error = nullptr);

struct ConnectMessage {
  uint8_t flags = 0;
  std::string json;
};
// Every whole envelope in `body`; invalid_argument when it is cut short,
// compressed or larger than `max_message` bytes.
Result<std::vector<ConnectMessage>> parse_connect_frames(const std::string& body, size_t max_message = 8 << 20);

// The one message a server-stream request carries, as a JSON object;
// invalid_argument naming `method` otherwise.
Result<nlohmann::json> stream_request(const std::string& body, const std::string& method);
// A stream that cannot start still answers 200, its only frame the
// end-of-stream error (Connect protocol).
void fail_stream(ResponseWriter& out, const Error& e);

}  // namespace soulbox::gateway
