#include "gateway/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/base64.h"
#include "common/json_fields.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;

Error denied(const std::string& why) {
  return Error{ErrorCode::permission_denied, "invalid token: " + why};
}

Result<std::string> base64url_decode(std::string s) {
  if (s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
    return denied("not base64url");
  for (auto& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s.push_back('=');
  return base64_decode(s);
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// An RSA or P-256 public key from its JWK parameters (OpenSSL 3's fromdata).
Result<Pkey> key_from_jwk(const json& jwk) {
  const std::string kty = jwk.value("kty", "");
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  std::vector<std::unique_ptr<BIGNUM, decltype(&BN_free)>> numbers;
  std::string point;
  auto bignum = [&](const char* field) -> BIGNUM* {
    auto raw = base64url_decode(jwk.value(field, ""));
    if (!raw || raw->empty()) return nullptr;
    numbers.emplace_back(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()), int(raw->size()), nullptr),
                         BN_free);
    return numbers.back().get();
  };
  const char* type = nullptr;
  if (kty == "RSA") {
    BIGNUM* n = bignum("n");
    BIGNUM* e = bignum("e");
    if (!n || !e) return Error{ErrorCode::invalid_argument, "an RSA JWK needs n and e"};
    if (BN_num_bits(n) < 2048) return Error{ErrorCode::invalid_argument, "RSA keys under 2048 bits are refused"};
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e);
    type = "RSA";
  } else if (kty == "EC") {
    if (jwk.value("crv", "") != "P-256") return Error{ErrorCode::invalid_argument, "EC JWKs must be on P-256"};
    auto x = base64url_decode(jwk.value("x", ""));
    auto y = base64url_decode(jwk.value("y", ""));
    if (!x || !y || x->size() != 32 || y->size() != 32)
      return Error{ErrorCode::invalid_argument, "a P-256 JWK needs 32-byte x and y"};
    point = std::string(1, '\x04') + *x + *y;  // uncompressed point
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    type = "EC";
  } else {
    return Error{ErrorCode::invalid_argument, "unsupported JWK kty '" + kty + "'"};
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr),
                                                                  EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return Error{ErrorCode::invalid_argument, "the JWK is not a valid " + kty + " public key"};
  return Pkey(key);
}

// JWS ES256 signatures are r||s (32 bytes each); OpenSSL verifies DER.
Result<std::string> es256_der(const std::string& raw) {
  if (raw.size() != 64) return denied("an ES256 signature is 64 bytes");
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (n <= 0) return denied("bad ES256 signature");
  std::string out(reinterpret_cast<char*>(der), size_t(n));
  OPENSSL_free(der);
  return out;
}

bool verify_with(EVP_PKEY* key, const std::string& data, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

bool hs256_matches(const std::string& secret, const std::string& data, const std::string& signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return signature.size() == len && CRYPTO_memcmp(mac, signature.data(), len) == 0;
}

std::vector<std::string> roles_from(const json& claim) {
  std::vector<std::string> out;
  if (claim.is_array()) {
    for (const auto& r : claim)
      if (r.is_string()) out.push_back(r.get<std::string>());
  } else if (claim.is_string()) {
    std::istringstream words(claim.get<std::string>());
    for (std::string w; words >> w;) out.push_back(w);
  }
  return out;
}

}  // namespace

struct JwtVerifier::Key {
  std::string kid, alg;  // alg: RS256 or ES256, from the key's type
  Pkey pkey;
};

JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::load(const JwtConfig& config) {
  auto v = std::unique_ptr<JwtVerifier>(new JwtVerifier());
  v->config_ = config;
  if (config.jwks_file.empty()) return v;
  std::ifstream in(config.jwks_file);
  if (!in) return Error{ErrorCode::not_found, "cannot read the JWKS file " + config.jwks_file};
  const json jwks = json::parse(in, nullptr, false);
  if (jwks.is_discarded() || !jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array())
    return Error{ErrorCode::invalid_argument, config.jwks_file + " is not a JWKS document ({\"keys\": [...]})"};
  for (const auto& jwk : jwks["keys"]) {
    if (!jwk.is_object()) return Error{ErrorCode::invalid_argument, "a JWKS entry is not an object"};
    auto pkey = key_from_jwk(jwk);
    if (!pkey) return Error{pkey.error().code, config.jwks_file + ": " + pkey.error().message};
    auto key = std::make_unique<Key>();
    key->kid = jwk.value("kid", "");
    key->alg = jwk.value("kty", "") == "RSA" ? "RS256" : "ES256";
    if (jwk.contains("alg") && jwk["alg"] != key->alg)
      return Error{ErrorCode::invalid_argument, config.jwks_file + ": key '" + key->kid + "' says alg " +
                                                    json_text(jwk["alg"]) + " but is a " + key->alg + " key"};
    key->pkey = std::move(*pkey);
    v->keys_.push_back(std::move(key));
  }
  return v;
}

Result<JwtIdentity> JwtVerifier::verify(const std::string& token, int64_t now) const {
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) return denied("not a JWS");
  auto header_raw = base64url_decode(token.substr(0, dot1));
  auto payload_raw = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header_raw || !payload_raw || !signature) return denied("bad base64url");
  const json header = json::parse(*header_raw, nullptr, false);
  const json claims = json::parse(*payload_raw, nullptr, false);
  if (!header.is_object() || !claims.is_object()) return denied("header and payload must be JSON objects");
  std::string alg, kid;
  JsonFields header_fields(header, "header");
  header_fields.read("alg", alg);
  header_fields.read("kid", kid);
  if (!header_fields.ok()) return denied(header_fields.status().error().message);
  const std::string signed_part = token.substr(0, dot2);
  bool ok = false;
  if (alg == "HS256") {
    // Only the configured shared secret: never a public key used as one.
    if (config_.hs256_secret.empty()) return denied("HS256 tokens are not accepted here");
    ok = hs256_matches(config_.hs256_secret, signed_part, *signature);
  } else if (alg == "RS256" || alg == "ES256") {
    std::string der;
    if (alg == "ES256") {
      auto d = es256_der(*signature);
      if (!d) return d.error();
      der = std::move(*d);
    }
    bool any_key = false;
    for (const auto& key : keys_) {
      if (key->alg != alg || (!kid.empty() && key->kid != kid)) continue;
      any_key = true;
      if ((ok = verify_with(key->pkey.get(), signed_part, alg == "ES256" ? der : *signature))) break;
    }
    if (!any_key) return denied("no " + alg + " key" + (kid.empty() ? "" : " with kid '" + kid + "'"));
  } else {
    return denied("algorithm '" + alg + "' is not accepted (HS256, RS256, ES256)");
  }
  if (!ok) return denied("bad signature");

  // NumericDate: seconds, maybe fractional; kept to what int64 holds with room for the leeway.
  auto number = [&](const char* name) -> Result<int64_t> {
    if (!claims.contains(name)) return int64_t(0);
    if (!claims[name].is_number()) return denied(std::string(name) + " is not a number");
    const double seconds = claims[name].get<double>();
    if (!(seconds > -1e15 && seconds < 1e15)) return denied(std::string(name) + " is out of range");
    return int64_t(seconds);
  };
  auto exp = number("exp");
  auto nbf = number("nbf");
  if (!exp || !nbf) return !exp ? exp.error() : nbf.error();
  if (!claims.contains("exp")) return denied("no exp");
  if (*exp + config_.leeway_s < now) return denied("expired");
  if (*nbf && *nbf - config_.leeway_s > now) return denied("not valid yet (nbf)");
  JwtIdentity who;
  JsonFields claim_fields(claims, "claims");
  claim_fields.read("iss", who.issuer);
  claim_fields.read("sub", who.subject);
  if (!claim_fields.ok()) return denied(claim_fields.status().error().message);
  who.expires_unix_s = *exp;
  if (!config_.issuer.empty() && who.issuer != config_.issuer) return denied("issuer '" + who.issuer + "' not trusted");
  if (!config_.audience.empty()) {
    const json aud = claims.value("aud", json());
    const bool has = aud == config_.audience ||
                     (aud.is_array() && std::find(aud.begin(), aud.end(), json(config_.audience)) != aud.end());
    if (!has) return denied("audience is not " + config_.audience);
  }
  if (who.subject.empty() || !claims.value(config_.tenant_claim, json()).is_string())
    return denied("needs sub and a '" + config_.tenant_claim + "' claim");
  who.tenant = claims[config_.tenant_claim].get<std::string>();
  who.roles = roles_from(claims.value(config_.roles_claim, json()));
  return who;
}

bool looks_like_jwt(const std::string& token) {
  return token.rfind("eyJ", 0) == 0 && std::count(token.begin(), token.end(), '.') == 2;
}

}  // namespace soulbox::gateway
