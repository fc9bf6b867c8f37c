// API keys: `sb_<id>_<secret>`. The id (12 hex) names the key in logs and
// events; the secret (43 base64url characters, 256 random bits) is shown
// once and only its SHA-256 is kept. A high-entropy secret needs no slow
// hash: nothing is guessable, and every request must be checked fast.
#pragma once
#include <string>

#include "common/result.h"

namespace soulbox::tenants {

struct NewKey {
  std::string id;
  std::string token;        // sb_<id>_<secret>: give to the user, never store
  std::string secret_hash;  // hex SHA-256 of the secret: store this
};

Result<NewKey> generate_key();

struct ParsedKey {
  std::string id, secret;
};
// invalid_argument (without echoing the token) when it is not a key's shape.
Result<ParsedKey> parse_key(const std::string& token);

// Constant-time comparison of the secret's hash with the stored one.
bool secret_matches(const std::string& secret, const std::string& stored_hash);

}  // namespace soulbox::tenants
