// Percent-encoding for URL query values (RFC 3986 unreserved characters
// and '/' stay as they are, so paths remain readable).
#pragma once
#include <cctype>
#include <cstdio>
#include <string>

namespace soulbox {

inline std::string percent_encode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += char(c);
    } else {
      char esc[4];
      std::snprintf(esc, sizeof esc, "%%%02X", c);
      out += esc;
    }
  }
  return out;
}

}  // namespace soulbox
