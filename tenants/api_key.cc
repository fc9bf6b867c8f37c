#include "tenants/api_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace soulbox::tenants {
namespace {

std::string to_hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string base64url(const unsigned char* p, size_t n) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return to_hex(digest, len);
}

bool all_of_set(const std::string& s, const char* set) {
  return s.find_first_not_of(set) == std::string::npos;
}

}  // namespace

Result<NewKey> generate_key() {
  unsigned char id[6], secret[32];
  if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, sizeof secret) != 1)
    return Error{ErrorCode::internal, "no randomness for a key (OpenSSL RAND_bytes)"};
  NewKey k;
  k.id = to_hex(id, sizeof id);
  const std::string s = base64url(secret, sizeof secret);
  k.token = "sb_" + k.id + "_" + s;
  k.secret_hash = sha256_hex(s);
  return k;
}

Result<ParsedKey> parse_key(const std::string& token) {
  const Error bad{ErrorCode::invalid_argument, "not a SoulBox API key (expected sb_<id>_<secret>)"};
  if (token.size() != 3 + 12 + 1 + 43 || token.compare(0, 3, "sb_") != 0 || token[15] != '_') return bad;
  ParsedKey k{token.substr(3, 12), token.substr(16)};
  if (!all_of_set(k.id, "0123456789abcdef")) return bad;
  if (!all_of_set(k.secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")) return bad;
  return k;
}

bool secret_matches(const std::string& secret, const std::string& stored_hash) {
  const std::string h = sha256_hex(secret);
  return h.size() == stored_hash.size() && CRYPTO_memcmp(h.data(), stored_hash.data(), h.size()) == 0;
}

}  // namespace soulbox::tenants
