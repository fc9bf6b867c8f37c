// HMAC-SHA256 (OpenSSL), for keys derived per purpose and for seals and
// signatures over text.
#pragma once
#include <string>

namespace soulbox {

// The 32 raw bytes of HMAC-SHA256(key, data).
std::string hmac_sha256(const std::string& key, const std::string& data);

}  // namespace soulbox
