// SoulBox's own signed file URLs: what the signature binds, and forgeries
// refused (SHA-256 length extension of a single-use URL's nonce, the
// pre-HMAC signature, malformed nonces). The nonce store is an in-memory
// stand-in for the JetStream bucket: create-only, as the bucket is.
#include "gateway/signed_urls.h"

#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <memory>
#include <optional>

#include "common/base64.h"
#include "gateway/access_token.h"
#include "gateway/http_server.h"

namespace {

using namespace soulbox;
using namespace soulbox::gateway;

class MemoryBucket : public bus::KeyValueBucket {
 public:
  Result<std::optional<std::string>> get(const std::string& key) override {
    auto it = values_.find(key);
    return it == values_.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  }
  Status put(const std::string& key, const std::string& value) override {
    values_[key] = value;
    return {};
  }
  Result<bool> create(const std::string& key, const std::string& value) override {
    return values_.emplace(key, value).second;
  }

 private:
  std::map<std::string, std::string> values_;
};

// A gateway key in a fresh temporary file, removed at the end.
struct Keys {
  std::string dir = "/tmp/soulbox-urls-XXXXXX", file;
  std::unique_ptr<AccessTokens> tokens;
  Keys() {
    REQUIRE(::mkdtemp(dir.data()));
    file = dir + "/key";
    auto made = AccessTokens::load_or_create(file);
    REQUIRE(made.ok());
    tokens = std::move(*made);
  }
  ~Keys() {
    ::unlink(file.c_str());
    ::rmdir(dir.c_str());
  }
};

// A GET of `query` (as issued: a=b&c=d, percent-encoded) on the /v1 route.
HttpRequest request_for(const std::string& query) {
  HttpRequest req;
  req.method = "GET";
  for (size_t at = 0; at <= query.size();) {
    const size_t end = std::min(query.find('&', at), query.size());
    const std::string pair = query.substr(at, end - at);
    const size_t eq = pair.find('=');
    REQUIRE(eq != std::string::npos);
    req.query[pair.substr(0, eq)] = percent_decode(pair.substr(eq + 1)).value();
    at = end + 1;
  }
  return req;
}

// SHA-256's padding after a message of `length` bytes (FIPS 180-4 §5.1.1).
std::string sha256_padding(size_t length) {
  std::string pad(1, '\x80');
  while ((length + pad.size()) % 64 != 56) pad.push_back('\0');
  const uint64_t bits = uint64_t(length) * 8;
  for (int shift = 56; shift >= 0; shift -= 8) pad.push_back(char((bits >> shift) & 0xff));
  return pad;
}

// The length-extension attack: from SHA-256(m) and m's length alone, the
// digest of m || padding || suffix, without knowing m (the token inside).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::string extended_sha256(const std::string& digest, size_t length, const std::string& suffix) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  for (int i = 0; i < 8; ++i) {
    const auto* d = reinterpret_cast<const unsigned char*>(digest.data()) + 4 * i;
    ctx.h[i] = (uint32_t(d[0]) << 24) | (uint32_t(d[1]) << 16) | (uint32_t(d[2]) << 8) | uint32_t(d[3]);
  }
  const uint64_t bits = uint64_t(length + sha256_padding(length).size()) * 8;
  ctx.Nl = uint32_t(bits & 0xffffffff);
  ctx.Nh = uint32_t(bits >> 32);
  SHA256_Update(&ctx, suffix.data(), suffix.size());
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256_Final(out, &ctx);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}
#pragma GCC diagnostic pop

std::string e2b_style(const std::string& digest) {
  std::string b64 = base64_encode(digest);
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "v1_" + b64;
}

TEST_CASE("the length-extension attack itself works on plain SHA-256", "[gateway][signed-urls]") {
  const std::string secret_text = "path:write::sbt_secret:1700000000:0123";
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret_text.data()), secret_text.size(), d);
  const std::string digest(reinterpret_cast<char*>(d), sizeof d);
  const std::string longer = secret_text + sha256_padding(secret_text.size()) + "more";
  SHA256(reinterpret_cast<const unsigned char*>(longer.data()), longer.size(), d);
  CHECK(extended_sha256(digest, secret_text.size(), "more") == std::string(reinterpret_cast<char*>(d), sizeof d));
}

TEST_CASE("a single-use URL whose nonce is extended past its signature is refused", "[gateway][signed-urls]") {
  Keys keys;
  MemoryBucket spent;
  SignedUrls urls(*keys.tokens, &spent);
  auto issued = urls.issue("sb-1", "/home/user/a.txt", "write", "", 60, /*single_use=*/true);
  REQUIRE(issued.ok());
  const HttpRequest legit = request_for(issued->query);
  const std::string nonce = legit.query_param("nonce"), expiry = legit.query_param("signature_expiration");
  REQUIRE(nonce.size() == 32);

  // What an attacker holding a URL signed the old way computes: the signed
  // text's length is public (the token's length is fixed), and SHA-256
  // extends past it to nonce || padding || anything, no key needed.
  const std::string old_text = "/home/user/a.txt:write::" + keys.tokens->token_for("sb-1") + ":" + expiry + ":" + nonce;
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(old_text.data()), old_text.size(), d);
  const std::string old_digest(reinterpret_cast<char*>(d), sizeof d);
  HttpRequest forged = legit;
  forged.query["nonce"] = nonce + sha256_padding(old_text.size()) + "x";
  forged.query["signature"] = e2b_style(extended_sha256(old_digest, old_text.size(), "x"));
  const Status forged_use = urls.check(forged, "sb-1", "/home/user/a.txt", "write");
  CHECK_FALSE(forged_use.ok());
  // Any text appended to the nonce, whatever the signature.
  HttpRequest appended = legit;
  appended.query["nonce"] = nonce + "00";
  CHECK_FALSE(urls.check(appended, "sb-1", "/home/user/a.txt", "write").ok());

  // The URL as issued: once, then "used already".
  CHECK(urls.check(legit, "sb-1", "/home/user/a.txt", "write").ok());
  const Status replay = urls.check(legit, "sb-1", "/home/user/a.txt", "write");
  REQUIRE_FALSE(replay.ok());
  CHECK(replay.error().message.find("used already") != std::string::npos);
}

TEST_CASE("a SoulBox URL signed the old way (SHA-256 over text with the access token) is refused",
          "[gateway][signed-urls]") {
  Keys keys;
  SignedUrls urls(*keys.tokens, nullptr);
  auto issued = urls.issue("sb-1", "/home/user/r.txt", "read", "", 60, /*single_use=*/false);
  REQUIRE(issued.ok());
  HttpRequest req = request_for(issued->query);
  CHECK(urls.check(req, "sb-1", "/home/user/r.txt", "read").ok());
  CHECK_FALSE(urls.check(req, "sb-2", "/home/user/r.txt", "read").ok());
  CHECK_FALSE(urls.check(req, "sb-1", "/home/user/other.txt", "read").ok());
  CHECK_FALSE(urls.check(req, "sb-1", "/home/user/r.txt", "write").ok());
  req.query["signature"] = file_signature("/home/user/r.txt", "read", "", keys.tokens->token_for("sb-1"),
                                          req.query_param("signature_expiration"));
  const Status old_way = urls.check(req, "sb-1", "/home/user/r.txt", "read");
  CHECK_FALSE(old_way.ok());
  // And the other way round: E2B's check (the in-sandbox /files) takes no SoulBox URL.
  CHECK_FALSE(urls.check_e2b(request_for(issued->query), "sb-1", "/home/user/r.txt", "read").ok());
  CHECK(urls.check_e2b(req, "sb-1", "/home/user/r.txt", "read").ok());
}

TEST_CASE("a SoulBox URL with a malformed nonce or expiry is refused for that reason", "[gateway][signed-urls]") {
  Keys keys;
  MemoryBucket spent;
  SignedUrls urls(*keys.tokens, &spent);
  auto issued = urls.issue("sb-1", "/home/user/a.txt", "read", "", 60, /*single_use=*/true);
  REQUIRE(issued.ok());
  const HttpRequest legit = request_for(issued->query);
  const std::string nonce = legit.query_param("nonce");
  std::string upper = nonce;
  for (auto& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad :
       {nonce.substr(1), nonce + "0", upper, nonce.substr(0, 31) + "g", nonce.substr(0, 31) + std::string(1, '\0')}) {
    if (bad == nonce) continue;  // a nonce of digits only has no upper case
    HttpRequest req = legit;
    req.query["nonce"] = bad;
    const Status st = urls.check(req, "sb-1", "/home/user/a.txt", "read");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("nonce") != std::string::npos);
  }
  for (const std::string& bad :
       {std::string("12x"), legit.query_param("signature_expiration") + " ", std::string("-1")}) {
    HttpRequest req = legit;
    req.query["signature_expiration"] = bad;
    const Status st = urls.check(req, "sb-1", "/home/user/a.txt", "read");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("expir") != std::string::npos);
  }
  CHECK(urls.check(legit, "sb-1", "/home/user/a.txt", "read").ok());  // nothing above spent the nonce
}

}  // namespace
