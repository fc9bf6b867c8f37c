// Signed file URLs, in two schemes that never accept each other's:
// - E2B's, on the in-sandbox `/files`: the SDK computes them from the access
//   token, "v1_" + base64(SHA-256("path:operation:user:token[:expiry]")).
//   Kept exactly as E2B defines them, so the unmodified SDK's
//   uploadUrl()/downloadUrl() work.
// - SoulBox's own, on `/v1/sandboxes/{id}/files`, issued by the gateway:
//   "sb1_" + hex(HMAC-SHA256(url key, fields)), the url key derived from
//   the gateway's key for this purpose alone. An HMAC, unlike a hash of
//   text holding a secret, cannot be extended to a longer text without the
//   key; the fields are length-prefixed so none can run into the next.
//   A single-use URL carries a nonce (32 lower-case hex digits, checked
//   strictly) inside its signed fields, spent in a JetStream key-value
//   bucket on first use so every gateway refuses it after.
// Either way a signature authorises one operation on one path: a signed
// upload writes exactly one file, to that path (envd_files.cc).
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
  static constexpr size_t kNonceHexDigits = 32;  // 16 random bytes
  // `nonces` null: single-use URLs cannot be issued or honoured.
  SignedUrls(const AccessTokens& tokens, bus::KeyValueBucket* nonces);

  struct Issued {
    std::string query;  // path=..&signature=..&signature_expiration=..[&nonce=..][&username=..], percent-encoded
    int64_t expires_unix_s = 0;
  };
  // SoulBox's own URLs (the /v1 route).
  Result<Issued> issue(const std::string& sandbox, const std::string& path, const std::string& operation,
                       const std::string& user, int64_t lifetime_s, bool single_use) const;
  // A URL `issue` made: Ok, or permission_denied saying why (no signature,
  // malformed, expired, wrong, replayed); spends a single-use URL's nonce.
  Status check(const HttpRequest& req, const std::string& sandbox, const std::string& path,
               const std::string& operation) const;
  // E2B's scheme (the in-sandbox /files): Ok, or permission_denied saying why.
  Status check_e2b(const HttpRequest& req, const std::string& sandbox, const std::string& path,
                   const std::string& operation) const;

 private:
  std::string signature(const std::string& sandbox, const std::string& path, const std::string& operation,
                        const std::string& user, const std::string& expiration, const std::string& nonce) const;
  Status spend(const std::string& sandbox, const std::string& nonce, const std::string& expiration) const;

  const AccessTokens& tokens_;
  const std::string url_key_;  // HMAC(gateway key, purpose): signs SoulBox's URLs and nothing else
  bus::KeyValueBucket* nonces_;
};

}  // namespace soulbox::gateway
