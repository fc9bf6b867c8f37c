// JwtVerifier with HS256 tokens made here (RS256/ES256 and the attacks on
// them run against the real gateway in gateway_tests), and the rate limiter.
#include "gateway/jwt.h"

#include <openssl/hmac.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "gateway/rate_limiter.h"

namespace {

using namespace soulbox;
using namespace soulbox::gateway;
using json = nlohmann::json;

const std::string kSecret = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNow = 1800000000;

std::string b64u(const std::string& s) {
  std::string out = base64_encode(s);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string hs256(const json& header, const json& claims, const std::string& secret = kSecret) {
  const std::string input = b64u(header.dump()) + "." + b64u(claims.dump());
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  return input + "." + b64u(std::string(reinterpret_cast<char*>(mac), len));
}

json claims() {
  return {{"sub", "alice"},   {"tenant", "t1"}, {"roles", "developer viewer"},
          {"exp", kNow + 60}, {"iss", "iss-a"}, {"aud", json::array({"x", "soulbox"})}};
}

std::unique_ptr<JwtVerifier> verifier() {
  JwtConfig c;
  c.hs256_secret = kSecret;
  c.issuer = "iss-a";
  c.audience = "soulbox";
  auto v = JwtVerifier::load(c);
  REQUIRE(v.ok());
  return std::move(*v);
}

TEST_CASE("HS256 tokens verify and carry the tenant, subject and roles", "[gateway][jwt]") {
  auto who = verifier()->verify(hs256({{"alg", "HS256"}}, claims()), kNow);
  REQUIRE(who.ok());
  CHECK(who->subject == "alice");
  CHECK(who->tenant == "t1");
  CHECK(who->roles == std::vector<std::string>{"developer", "viewer"});
}

TEST_CASE("JWTs with a bad signature, alg, time, issuer, audience or claims are refused", "[gateway][jwt]") {
  auto v = verifier();
  auto refused = [&](const std::string& token, const std::string& why) {
    auto r = v->verify(token, kNow);
    INFO(token);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::permission_denied);
    CHECK(r.error().message.find(why) != std::string::npos);
  };
  refused(hs256({{"alg", "HS256"}}, claims(), kSecret + "x"), "bad signature");
  refused(hs256({{"alg", "none"}}, claims()), "algorithm 'none'");
  refused(hs256({{"alg", "HS512"}}, claims()), "not accepted");
  refused(hs256({{"alg", "RS256"}}, claims()), "no RS256 key");
  auto c = claims();
  c["exp"] = kNow - 31;  // beyond the 30 s leeway
  refused(hs256({{"alg", "HS256"}}, c), "expired");
  c = claims();
  c.erase("exp");
  refused(hs256({{"alg", "HS256"}}, c), "no exp");
  c = claims();
  c["nbf"] = kNow + 31;
  refused(hs256({{"alg", "HS256"}}, c), "nbf");
  c = claims();
  c["iss"] = "iss-b";
  refused(hs256({{"alg", "HS256"}}, c), "issuer");
  c = claims();
  c["aud"] = "other";
  refused(hs256({{"alg", "HS256"}}, c), "audience");
  c = claims();
  c.erase("tenant");
  refused(hs256({{"alg", "HS256"}}, c), "tenant");
  c = claims();
  c["exp"] = "soon";
  refused(hs256({{"alg", "HS256"}}, c), "not a number");
  refused("a.b", "not a JWS");
  refused("a.b.c.d", "not a JWS");
  refused("e30.e30.!!", "base64url");
  c = claims();
  c["exp"] = kNow - 20;  // within the leeway
  CHECK(v->verify(hs256({{"alg", "HS256"}}, c), kNow).ok());
}

// Found by fuzz/jwt_fuzz.cc: a header or claim of the wrong type threw
// (nlohmann's value()), and the gateway answered 500 to an unauthenticated
// request; an exp beyond int64 was undefined behaviour. Each is a refusal.
TEST_CASE("JWT headers and claims of the wrong type are refused, never thrown", "[gateway][jwt][fuzz]") {
  auto v = verifier();
  auto refused = [&](const std::string& token, const std::string& why) {
    INFO(token);
    Result<JwtIdentity> r = Error{ErrorCode::internal, "not run"};
    CHECK_NOTHROW(r = v->verify(token, kNow));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::permission_denied);
    CHECK(r.error().message.find(why) != std::string::npos);
  };
  refused(hs256({{"alg", 1}}, claims()), "alg");
  refused(hs256({{"alg", "HS256"}, {"kid", json::array()}}, claims()), "kid");
  for (const char* field : {"iss", "sub"}) {
    auto c = claims();
    c[field] = 42;
    refused(hs256({{"alg", "HS256"}}, c), field);
  }
  auto c = claims();
  c["exp"] = 1e300;
  refused(hs256({{"alg", "HS256"}}, c), "exp is out of range");
  c = claims();
  c["nbf"] = -1e300;
  refused(hs256({{"alg", "HS256"}}, c), "nbf is out of range");
  c = claims();
  c["exp"] = std::numeric_limits<int64_t>::max();  // + the leeway overflowed
  refused(hs256({{"alg", "HS256"}}, c), "exp is out of range");
}

TEST_CASE("a JWKS file with bad keys is refused at load", "[gateway][jwt]") {
  const std::string path = "/tmp/soulbox-jwks-" + std::to_string(::getpid()) + ".json";
  auto load = [&](const std::string& text) {
    std::ofstream(path) << text;
    JwtConfig c;
    c.jwks_file = path;
    return JwtVerifier::load(c);
  };
  CHECK_FALSE(load("not json").ok());
  CHECK_FALSE(load(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})").ok());
  CHECK_FALSE(load(R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]})").ok());  // far under 2048 bits
  CHECK_FALSE(load(R"({"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})").ok());
  CHECK(load(R"({"keys":[]})").ok());
  std::remove(path.c_str());
  JwtConfig missing;
  missing.jwks_file = path;
  CHECK(JwtVerifier::load(missing).error().code == ErrorCode::not_found);
}

TEST_CASE("looks_like_jwt tells JWTs from API keys", "[gateway][jwt]") {
  CHECK(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.e30.sig"));
  CHECK_FALSE(looks_like_jwt("sb_abc_def"));
  CHECK_FALSE(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.e30"));
}

TEST_CASE("the rate limiter allows the burst, then one per 1/rate, per caller", "[gateway]") {
  RateLimiter limiter(1, 3);
  CHECK(limiter.take("a") == 0);
  CHECK(limiter.take("a") == 0);
  CHECK(limiter.take("a") == 0);
  CHECK(limiter.take("a") == 1);  // wait about a second
  CHECK(limiter.take("b") == 0);  // another caller is not affected
  RateLimiter unlimited(0, 0);
  for (int i = 0; i < 100; ++i) CHECK(unlimited.take("a") == 0);
}

}  // namespace
