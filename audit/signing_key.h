// A node's Ed25519 audit key (OpenSSL), kept as PEM in a 0600 file and
// made on first use. Verification needs only the public half.
#pragma once
#include <memory>
#include <string>

#include "common/result.h"

namespace soulbox::audit {

class SigningKey {
 public:
  static Result<std::unique_ptr<SigningKey>> load_or_create(const std::string& pem_path);
  static Result<std::unique_ptr<SigningKey>> load(const std::string& pem_path);  // not_found when missing
  static Result<std::unique_ptr<SigningKey>> generate();                         // in memory (tests)
  ~SigningKey();
  Result<std::string> sign(const std::string& message) const;  // 64 raw bytes
  std::string public_key() const;                              // 32 raw bytes

 private:
  explicit SigningKey(void* pkey) : pkey_(pkey) {}
  void* pkey_;  // EVP_PKEY*
};

// Checks an Ed25519 signature made by `public_key` (32 raw bytes).
bool verify_signature(const std::string& public_key, const std::string& message, const std::string& signature);

std::string sha256(const std::string& data);  // 32 raw bytes
std::string hex(const std::string& bytes);
std::string unhex(const std::string& text);  // "" when malformed

}  // namespace soulbox::audit
