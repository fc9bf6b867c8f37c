#include "gateway/signed_urls.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>

#include "common/base64.h"
#include "common/hex.h"
#include "common/hmac.h"
#include "common/percent_encode.h"

namespace soulbox::gateway {
namespace {

constexpr const char* kUrlKeyPurpose = "soulbox signed url v1";
constexpr const char* kSignaturePrefix = "sb1_";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// `s` has min..max characters, each one of `allowed`.
bool made_of(const std::string& s, const std::string& allowed, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max && s.find_first_not_of(allowed) == std::string::npos;
}

// Unix seconds as decimal digits, nothing else (at most 18: no overflow).
bool well_formed_expiry(const std::string& s) {
  return made_of(s, "0123456789", 1, 18);
}

// Exactly what `issue` makes: 32 lower-case hex digits.
bool well_formed_nonce(const std::string& s) {
  return made_of(s, "0123456789abcdef", SignedUrls::kNonceHexDigits, SignedUrls::kNonceHexDigits);
}

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Error denied(const std::string& why) {
  return Error{ErrorCode::permission_denied, why};
}

}  // namespace

std::string file_signature(const std::string& path, const std::string& operation, const std::string& user,
                           const std::string& token, const std::string& expiration) {
  std::string raw = path + ":" + operation + ":" + user + ":" + token;
  if (!expiration.empty()) raw += ":" + expiration;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), digest);
  std::string b64 = base64_encode(std::string(reinterpret_cast<char*>(digest), sizeof digest));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "v1_" + b64;
}

SignedUrls::SignedUrls(const AccessTokens& tokens, bus::KeyValueBucket* nonces)
    : tokens_(tokens), url_key_(tokens.derive_key(kUrlKeyPurpose)), nonces_(nonces) {}

std::string SignedUrls::signature(const std::string& sandbox, const std::string& path, const std::string& operation,
                                  const std::string& user, const std::string& expiration,
                                  const std::string& nonce) const {
  std::string text;
  for (const std::string* field : {&sandbox, &path, &operation, &user, &expiration, &nonce})
    text += std::to_string(field->size()) + ":" + *field + ";";
  return kSignaturePrefix + hex_encode(hmac_sha256(url_key_, text));
}

Result<SignedUrls::Issued> SignedUrls::issue(const std::string& sandbox, const std::string& path,
                                             const std::string& operation, const std::string& user, int64_t lifetime_s,
                                             bool single_use) const {
  if (operation != "read" && operation != "write")
    return Error{ErrorCode::invalid_argument, "operation must be read or write"};
  if (lifetime_s <= 0 || lifetime_s > kMaxLifetimeS)
    return Error{ErrorCode::invalid_argument, "expires_in must be 1 to " + std::to_string(kMaxLifetimeS) + " seconds"};
  if (single_use && !nonces_)
    return Error{ErrorCode::unavailable, "single-use URLs need JetStream, which this gateway cannot reach"};
  Issued out;
  out.expires_unix_s = now_s() + lifetime_s;
  const std::string expiration = std::to_string(out.expires_unix_s);
  std::string nonce;
  if (single_use) {
    unsigned char raw[kNonceHexDigits / 2];
    if (RAND_bytes(raw, sizeof raw) != 1) return Error{ErrorCode::internal, "no randomness for a nonce"};
    nonce = hex_encode(raw, sizeof raw);
  }
  out.query = "path=" + percent_encode(path) +
              "&signature=" + signature(sandbox, path, operation, user, expiration, nonce) +
              "&signature_expiration=" + expiration;
  if (!nonce.empty()) out.query += "&nonce=" + nonce;
  if (!user.empty()) out.query += "&username=" + percent_encode(user);
  return out;
}

Status SignedUrls::check(const HttpRequest& req, const std::string& sandbox, const std::string& path,
                         const std::string& operation) const {
  const std::string given = req.query_param("signature");
  if (given.empty()) return denied("invalid or missing access token or signature");
  // Every field's form first: nothing malformed reaches the MAC or the bucket.
  const std::string expiration = req.query_param("signature_expiration");
  if (!well_formed_expiry(expiration)) return denied("the URL's signature_expiration is missing or malformed");
  const auto nonce_param = req.query.find("nonce");
  const std::string nonce = nonce_param == req.query.end() ? "" : nonce_param->second;
  if (nonce_param != req.query.end() && !well_formed_nonce(nonce))
    return denied("the URL's nonce is malformed (" + std::to_string(kNonceHexDigits) + " lower-case hex digits)");
  // Signed with the raw `username` parameter (empty when the URL has none).
  if (!same(given, signature(sandbox, path, operation, req.query_param("username"), expiration, nonce)))
    return denied("the URL's signature does not match it");
  if (std::strtoll(expiration.c_str(), nullptr, 10) < now_s()) return denied("the signed URL has expired");
  if (nonce.empty()) return {};
  return spend(sandbox, nonce, expiration);
}

Status SignedUrls::spend(const std::string& sandbox, const std::string& nonce, const std::string& expiration) const {
  if (!nonces_) return Error{ErrorCode::unavailable, "single-use URLs need JetStream, which this gateway cannot reach"};
  auto first = nonces_->create(sandbox + "." + nonce, expiration);
  if (!first) return first.error();
  if (!*first) return denied("this single-use URL was used already");
  return {};
}

Status SignedUrls::check_e2b(const HttpRequest& req, const std::string& sandbox, const std::string& path,
                             const std::string& operation) const {
  const std::string given = req.query_param("signature");
  if (given.empty()) return denied("invalid or missing access token or signature");
  const std::string expiration = req.query_param("signature_expiration");
  if (!expiration.empty() && !well_formed_expiry(expiration))
    return denied("the URL's signature_expiration is malformed");
  // Signed with the raw `username` parameter (empty when the SDK sent none).
  if (!same(given,
            file_signature(path, operation, req.query_param("username"), tokens_.token_for(sandbox), expiration)))
    return denied("the URL's signature does not match it");
  if (!expiration.empty() && std::strtoll(expiration.c_str(), nullptr, 10) < now_s())
    return denied("the signed URL has expired");
  return {};
}

}  // namespace soulbox::gateway
