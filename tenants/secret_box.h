// Tenant secrets at rest: AES-256-GCM with a random 96-bit nonce per value
// (OpenSSL). The sealed form (nonce | ciphertext | tag, base64) is what the
// SB_EVENTS stream and the views hold; only the node that injects a secret
// into a sandbox opens it. Every node of a cluster needs the same key file.
#pragma once
#include <memory>
#include <string>

#include "common/result.h"

namespace soulbox::tenants {

class SecretBox {
 public:
  // 32 random bytes in a 0600 file, made on first use.
  static Result<std::unique_ptr<SecretBox>> load_or_create(const std::string& key_path);
  static std::unique_ptr<SecretBox> from_key(const std::string& key32);  // tests

  Result<std::string> seal(const std::string& plaintext, const std::string& context) const;
  // `context` (e.g. "<tenant>/<name>") is authenticated too: a sealed value
  // moved to another tenant or name does not open.
  Result<std::string> open(const std::string& sealed, const std::string& context) const;
  // A key for another purpose, derived from this one (HMAC-SHA256 of the
  // purpose): nodes sharing this key share every derived key too.
  std::string derive_key(const std::string& purpose) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace soulbox::tenants
