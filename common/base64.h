// Standard base64 (RFC 4648, padded) through OpenSSL's EVP block codec.
#pragma once
#include <string>

#include "common/result.h"

namespace soulbox {

std::string base64_encode(const std::string& data);
Result<std::string> base64_decode(const std::string& text);  // invalid_argument when malformed

}  // namespace soulbox
