// Lower-case hexadecimal text of bytes (digests, keys, random tokens).
#pragma once
#include <cstddef>
#include <string>

namespace soulbox {

inline std::string hex_encode(const void* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

inline std::string hex_encode(const std::string& bytes) {
  return hex_encode(bytes.data(), bytes.size());
}

}  // namespace soulbox
