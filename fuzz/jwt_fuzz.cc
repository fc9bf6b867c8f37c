// Bearer JWTs as the gateway verifies them (HS256 with a shared secret,
// RS256 and ES256 with keys from a JWKS file). Two kinds of input, told
// apart by the first byte:
//  - even: the rest is a token, verified as it is (structure, base64url,
//    header JSON, algorithm and key selection, signature);
//  - odd: the rest is "<header JSON>\n<claims JSON>", which the harness
//    encodes and signs with the HS256 secret, so the claims checks (exp,
//    nbf, iss, aud, tenant, roles) see fuzzed claims behind a good signature.
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/base64.h"
#include "fuzz/temp_dir.h"
#include "gateway/jwt.h"

namespace gw = soulbox::gateway;

namespace {

constexpr const char* kSecret = "fuzzing-secret";
constexpr int64_t kNow = 1700000000;

// The public halves of two throwaway keys (no private key exists anywhere).
constexpr const char* kJwks = R"({"keys":[
 {"kty":"RSA","kid":"rsa1","alg":"RS256","e":"AQAB",
  "n":"sGsUZDNRYlbkf2py92w9h5xugSU1ntUZdvDWX202FDvA5qHJzhWiHBTRjBi0X_TmxuzC1XXXMQR973HJTeWmnl3R_hI_FoWiIP1ZPQ_UDZZWWzGdetIs-1ZQTUssImtOLao7Mnp2Z1zgv0a2ol9q3fhn4Nq_EA1ZrWEm_0VM-tZiYQXRJAQgkxjWDXD3qgep8QOkA4jlx7qRU18sW7V7m9KFwjgMCOv-Y1YzG-aMNdYsIPsckkogez7cihudsb8RYchgMt0wk8wrjqVqhkwQKzIILjABL1jVqKPwHC8KJwq3gAL18WvdAK6DhHWRFUFWG6SXLrY8v6I1L1-s65-xuw"},
 {"kty":"EC","kid":"ec1","crv":"P-256",
  "x":"ppBznp1CVwb4Y15j-SjfLRS3ZAWtAN6tybwGmvjBF-0","y":"8jhe5kz05ToQSMiWqkmTHd42XN09EmYvvv0aIAjHaMc"}]})";

std::unique_ptr<gw::JwtVerifier> verifier;

std::string base64url(const std::string& raw) {
  std::string s = soulbox::base64_encode(raw);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

std::string hs256_token(const std::string& header, const std::string& claims) {
  const std::string signed_part = base64url(header) + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, int(std::string(kSecret).size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &len);
  return signed_part + "." + base64url(std::string(reinterpret_cast<char*>(mac), len));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = soulbox_fuzz::temp_dir("jwt"), path = dir + "/jwks.json";
  std::ofstream(path) << kJwks;
  gw::JwtConfig config;
  config.hs256_secret = kSecret;
  config.jwks_file = path;
  config.issuer = "https://issuer.example";
  config.audience = "soulbox";
  auto loaded = gw::JwtVerifier::load(config);
  std::filesystem::remove_all(dir);
  if (!loaded) std::abort();
  verifier = std::move(*loaded);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string token = rest;
  if (data[0] & 1) {
    const size_t newline = rest.find('\n');
    token = hs256_token(rest.substr(0, newline), newline == std::string::npos ? "" : rest.substr(newline + 1));
  }
  (void)gw::looks_like_jwt(token);
  auto who = verifier->verify(token, kNow);
  if (who && (who->subject.empty() || who->issuer != "https://issuer.example")) __builtin_trap();
  return 0;
}
