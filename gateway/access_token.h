// The per-sandbox envd access token the gateway hands out at create (E2B's
// `envdAccessToken`) and checks on every in-sandbox request: an HMAC of the
// sandbox id under a key every gateway shares, so any gateway can check it
// without state, and a token for one sandbox opens no other.
#pragma once
#include <memory>
#include <string>

#include "common/result.h"

namespace soulbox::gateway {

class AccessTokens {
 public:
  // The 32-byte key in `path` (made, mode 0600, when missing).
  static Result<std::unique_ptr<AccessTokens>> load_or_create(const std::string& path);
  std::string token_for(const std::string& sandbox_id) const;
  bool check(const std::string& sandbox_id, const std::string& token) const;  // constant time
  // A 32-byte key for one other purpose, HMAC(key, purpose). A purpose has
  // a space, which no sandbox id has ([A-Za-z0-9_-]), so a derived key is
  // never a sandbox's token and what it signs never opens a sandbox.
  std::string derive_key(const std::string& purpose) const;

 private:
  explicit AccessTokens(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace soulbox::gateway
