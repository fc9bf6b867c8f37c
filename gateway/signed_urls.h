// Signed file URLs: E2B's (the SDK computes them from the access token:
// "v1_" + base64(SHA-256("path:operation:user:token[:expiry]"))) and
// SoulBox's own, issued by the gateway with an expiry and optionally for a
// single use: a nonce inside the signed text, spent in a JetStream
// key-value bucket on first use so every gateway refuses it after.
#pragma once
#include <cstdint>
#include <string>

#include "bus/jetstream.h"
#include "common/result.h"
#include "gateway/access_token.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

// E2B's URL signature: "v1_" + base64(SHA-256("path:operation:user:token[:expiry]")), unpadded.
std::string file_signature(const std::string& path, const std::string& operation, const std::string& user,
                           const std::string& token, const std::string& expiration);

class SignedUrls {
 public:
  static constexpr const char* kNonceBucket = "SB_URL_NONCES";
  static constexpr int64_t kMaxLifetimeS = 86400;
  // `nonces` null: single-use URLs cannot be issued or honoured.
  SignedUrls(const AccessTokens& tokens, bus::KeyValueBucket* nonces) : tokens_(tokens), nonces_(nonces) {}

  struct Issued {
    std::string query;  // path=..&signature=..&signature_expiration=..[&nonce=..][&username=..], percent-encoded
    int64_t expires_unix_s = 0;
  };
  Result<Issued> issue(const std::string& sandbox, const std::string& path, const std::string& operation,
                       const std::string& user, int64_t lifetime_s, bool single_use) const;
  // Ok, or permission_denied saying why: no signature, expired, wrong, replayed.
  Status check(const HttpRequest& req, const std::string& sandbox, const std::string& path,
               const std::string& operation) const;
  const AccessTokens& tokens() const { return tokens_; }

 private:
  const AccessTokens& tokens_;
  bus::KeyValueBucket* nonces_;
};

}  // namespace soulbox::gateway
