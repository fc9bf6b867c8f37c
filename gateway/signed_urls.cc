#include "gateway/signed_urls.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>

#include "common/base64.h"
#include "common/percent_encode.h"

namespace soulbox::gateway {
namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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
  std::string expiration = std::to_string(out.expires_unix_s);
  std::string nonce;
  if (single_use) {
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) return Error{ErrorCode::internal, "no randomness for a nonce"};
    for (unsigned char c : raw) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", c);
      nonce += hex;
    }
  }
  const std::string signed_expiry = nonce.empty() ? expiration : expiration + ":" + nonce;
  out.query = "path=" + percent_encode(path) + "&signature=" +
              percent_encode(file_signature(path, operation, user, tokens_.token_for(sandbox), signed_expiry)) +
              "&signature_expiration=" + expiration;
  if (!nonce.empty()) out.query += "&nonce=" + nonce;
  if (!user.empty()) out.query += "&username=" + percent_encode(user);
  return out;
}

Status SignedUrls::check(const HttpRequest& req, const std::string& sandbox, const std::string& path,
                         const std::string& operation) const {
  const std::string signature = req.query_param("signature");
  if (signature.empty()) return Error{ErrorCode::permission_denied, "invalid or missing access token or signature"};
  const std::string expiration = req.query_param("signature_expiration");
  if (!expiration.empty() && std::strtoll(expiration.c_str(), nullptr, 10) < now_s())
    return Error{ErrorCode::permission_denied, "the signed URL has expired"};
  const std::string nonce = req.query_param("nonce");
  if (!nonce.empty() && expiration.empty())
    return Error{ErrorCode::permission_denied, "a single-use URL needs its expiry"};
  // Signed with the raw `username` parameter (empty when the SDK sent none).
  const std::string want = file_signature(path, operation, req.query_param("username"), tokens_.token_for(sandbox),
                                          nonce.empty() ? expiration : expiration + ":" + nonce);
  if (signature.size() != want.size() || CRYPTO_memcmp(signature.data(), want.data(), want.size()) != 0)
    return Error{ErrorCode::permission_denied, "the URL's signature does not match it"};
  if (nonce.empty()) return {};
  if (!nonces_) return Error{ErrorCode::unavailable, "single-use URLs need JetStream, which this gateway cannot reach"};
  auto first = nonces_->create(sandbox + "." + nonce, expiration);
  if (!first) return first.error();
  if (!*first) return Error{ErrorCode::permission_denied, "this single-use URL was used already"};
  return {};
}

}  // namespace soulbox::gateway
