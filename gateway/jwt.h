// Bearer JWTs (RFC 7519) as the gateway accepts them: HS256 with a shared
// secret, RS256 and ES256 with public keys from a JWKS file (an OIDC
// provider's keys). Only those algorithms, each only with its own kind of
// key: `alg: none`, an HS256 token "signed" with a public key, a key of the
// wrong type or curve are all refused. exp and nbf are checked (with a
// small leeway), iss and aud when configured.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::gateway {

struct JwtConfig {
  std::string hs256_secret;  // enables HS256
  std::string jwks_file;     // enables RS256/ES256: {"keys":[{kty, kid?, alg?, n, e | crv, x, y}]}
  std::string issuer;        // required "iss" when set
  std::string audience;      // required in "aud" when set
  std::string tenant_claim = "tenant";
  std::string roles_claim = "roles";  // a list of role names, or one space-separated string
  int leeway_s = 30;
  bool enabled() const { return !hs256_secret.empty() || !jwks_file.empty(); }
};

struct JwtIdentity {
  std::string issuer, subject, tenant;
  std::vector<std::string> roles;
  int64_t expires_unix_s = 0;
};

class JwtVerifier {
 public:
  static Result<std::unique_ptr<JwtVerifier>> load(const JwtConfig& config);
  ~JwtVerifier();
  // permission_denied with the reason for any token that does not verify.
  Result<JwtIdentity> verify(const std::string& token, int64_t now_unix_s) const;

 private:
  struct Key;
  JwtConfig config_;
  std::vector<std::unique_ptr<Key>> keys_;
};

// Three base64url parts separated by dots: worth trying as a JWT.
bool looks_like_jwt(const std::string& token);

}  // namespace soulbox::gateway
