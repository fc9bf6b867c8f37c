#include "gateway/access_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/hex.h"
#include "common/hmac.h"

namespace soulbox::gateway {
namespace {

constexpr size_t kKeyBytes = 32;

}  // namespace

Result<std::unique_ptr<AccessTokens>> AccessTokens::load_or_create(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str().size() != kKeyBytes) return Error{ErrorCode::invalid_argument, path + " is not a 32-byte key"};
    return std::unique_ptr<AccessTokens>(new AccessTokens(ss.str()));
  }
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), int(kKeyBytes)) != 1)
    return Error{ErrorCode::internal, "no random bytes for the access-token key"};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("create " + path);
  const bool ok = ::write(fd, key.data(), key.size()) == ssize_t(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return sys_error("write " + path);
  return std::unique_ptr<AccessTokens>(new AccessTokens(key));
}

std::string AccessTokens::token_for(const std::string& sandbox_id) const {
  return "sbt_" + hex_encode(hmac_sha256(key_, sandbox_id));
}

std::string AccessTokens::derive_key(const std::string& purpose) const {
  return hmac_sha256(key_, purpose);
}

bool AccessTokens::check(const std::string& sandbox_id, const std::string& token) const {
  const std::string want = token_for(sandbox_id);
  return token.size() == want.size() && CRYPTO_memcmp(token.data(), want.data(), want.size()) == 0;
}

}  // namespace soulbox::gateway
