// multipart/form-data uploads (E2B's file upload, POST /files): the
// request's Content-Type (which names the boundary) and its body, both the
// client's. Input: the Content-Type, a newline, then the body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/multipart.h"

namespace gw = soulbox::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string content_type = input.substr(0, newline);
  const std::string body = newline == std::string::npos ? "" : input.substr(newline + 1);
  auto parts = gw::parse_multipart(content_type, body);
  if (!parts) return 0;
  size_t total = 0;
  for (const auto& part : *parts) total += part.data.size();
  if (total > body.size()) __builtin_trap();  // the parts' data are pieces of the body
  return 0;
}
