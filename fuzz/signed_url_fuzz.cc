// Signed file URLs (GET/POST /files?path=..&signature=..&signature_expiration=..
// [&nonce=..][&username=..], and /v1/sandboxes/{id}/files): the query string
// is the caller's, checked by SignedUrls::check. Input: a first byte, then
// "<query string>"; bit 0 of the first byte picks read or write, and when
// bit 1 is set the harness replaces the signature by the right one for the
// query's own fields, so the checks behind the signature (expiry, nonce)
// see fuzzed values too. Every input's path is also issued a URL, which
// must check out: issue and check agree on encoding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "fuzz/temp_dir.h"
#include "gateway/signed_urls.h"

namespace gw = soulbox::gateway;

namespace {

constexpr const char* kSandbox = "sb-0123456789ab";
std::unique_ptr<gw::AccessTokens> tokens;
std::unique_ptr<gw::SignedUrls> urls;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = soulbox_fuzz::temp_dir("urls");
  auto loaded = gw::AccessTokens::load_or_create(dir + "/token.key");
  std::filesystem::remove_all(dir);
  if (!loaded) std::abort();
  tokens = std::move(*loaded);
  urls = std::make_unique<gw::SignedUrls>(*tokens, /*nonces=*/nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string operation = data[0] & 1 ? "write" : "read";
  gw::HttpRequest req;
  req.query = gw::parse_query(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  const std::string path = req.query_param("path");
  if (data[0] & 2) {
    const std::string expiration = req.query_param("signature_expiration"), nonce = req.query_param("nonce");
    req.query["signature"] =
        gw::file_signature(path, operation, req.query_param("username"), tokens->token_for(kSandbox),
                           nonce.empty() ? expiration : expiration + ":" + nonce);
  }
  (void)urls->check(req, kSandbox, path, operation);

  auto issued = urls->issue(kSandbox, path, operation, req.query_param("username"), 60, /*single_use=*/false);
  if (!issued) __builtin_trap();
  gw::HttpRequest back;
  back.query = gw::parse_query(issued->query);
  if (back.query_param("path") != path || !urls->check(back, kSandbox, path, operation)) __builtin_trap();
  return 0;
}
