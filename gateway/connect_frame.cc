#include "gateway/connect_frame.h"

#include <nlohmann/json.hpp>

#include "gateway/e2b_errors.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {

std::string connect_frame(const std::string& json, uint8_t flags) {
  std::string out;
  out.reserve(5 + json.size());
  out.push_back(char(flags));
  const uint32_t n = uint32_t(json.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char((n >> shift) & 0xff));
  out += json;
  return out;
}

std::string connect_end(const Error* error) {
  if (!error) return connect_frame("{}", kEndOfStream);
  const nlohmann::json body{{"error", {{"code", connect_code(error->code)}, {"message", error->message}}}};
  return connect_frame(json_text(body), kEndOfStream);
}

Result<std::vector<ConnectMessage>> parse_connect_frames(const std::string& body, size_t max_message) {
  std::vector<ConnectMessage> out;
  size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 5) return Error{ErrorCode::invalid_argument, "a Connect envelope is cut short"};
    const auto* p = reinterpret_cast<const unsigned char*>(body.data() + at);
    const uint8_t flags = p[0];
    const size_t n = (size_t(p[1]) << 24) | (size_t(p[2]) << 16) | (size_t(p[3]) << 8) | size_t(p[4]);
    if (flags & 0x01) return Error{ErrorCode::invalid_argument, "compressed Connect envelopes are not supported"};
    if (n > max_message) return Error{ErrorCode::invalid_argument, "a Connect message is too large"};
    if (body.size() - at - 5 < n) return Error{ErrorCode::invalid_argument, "a Connect envelope is cut short"};
    out.push_back(ConnectMessage{flags, body.substr(at + 5, n)});
    at += 5 + n;
  }
  return out;
}

Result<nlohmann::json> stream_request(const std::string& body, const std::string& method) {
  auto frames = parse_connect_frames(body);
  if (!frames) return frames.error();
  if (frames->size() != 1) return Error{ErrorCode::invalid_argument, method + " takes exactly one message"};
  nlohmann::json message = nlohmann::json::parse((*frames)[0].json, nullptr, false);
  if (message.is_discarded() || !message.is_object())
    return Error{ErrorCode::invalid_argument, method + "'s message is not a JSON object"};
  return message;
}

void fail_stream(ResponseWriter& out, const Error& e) {
  if (out.start(200, "application/connect+json")) out.write(connect_end(&e));
  out.finish();
}

}  // namespace soulbox::gateway
