#include "tenants/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <fstream>

#include "common/base64.h"
#include "common/hmac.h"

namespace soulbox::tenants {
namespace {

constexpr size_t kNonce = 12, kTag = 16;

}  // namespace

Result<std::unique_ptr<SecretBox>> SecretBox::load_or_create(const std::string& path) {
  std::string key(32, '\0');
  std::ifstream in(path, std::ios::binary);
  if (in.read(key.data(), 32) && in.gcount() == 32) return std::unique_ptr<SecretBox>(new SecretBox(key));
  if (::access(path.c_str(), F_OK) == 0) return Error{ErrorCode::internal, path + " is not a 32-byte key"};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1)
    return Error{ErrorCode::internal, "no randomness for the secrets key"};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("create " + path);
  const bool ok = ::write(fd, key.data(), 32) == 32 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return sys_error("write " + path);
  return std::unique_ptr<SecretBox>(new SecretBox(key));
}

std::unique_ptr<SecretBox> SecretBox::from_key(const std::string& key32) {
  return std::unique_ptr<SecretBox>(new SecretBox(key32));
}

Result<std::string> SecretBox::seal(const std::string& plain, const std::string& context) const {
  std::string nonce(kNonce, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), int(kNonce)) != 1)
    return Error{ErrorCode::internal, "no randomness for a nonce"};
  std::string cipher(plain.size(), '\0'), tag(kTag, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key_.data()),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                              int(context.size())) == 1 &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(cipher.data()), &len,
                              reinterpret_cast<const unsigned char*>(plain.data()), int(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, int(kTag), tag.data()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return Error{ErrorCode::internal, "sealing a secret failed (OpenSSL)"};
  return base64_encode(nonce + cipher + tag);
}

Result<std::string> SecretBox::open(const std::string& sealed, const std::string& context) const {
  auto raw = base64_decode(sealed);
  if (!raw) return raw.error();
  if (raw->size() < kNonce + kTag) return Error{ErrorCode::invalid_argument, "sealed secret too short"};
  const std::string nonce = raw->substr(0, kNonce), tag = raw->substr(raw->size() - kTag);
  const std::string cipher = raw->substr(kNonce, raw->size() - kNonce - kTag);
  std::string plain(cipher.size(), '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key_.data()),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                              int(context.size())) == 1 &&
            EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                              reinterpret_cast<const unsigned char*>(cipher.data()), int(cipher.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, int(kTag), const_cast<char*>(tag.data())) == 1 &&
            EVP_DecryptFinal_ex(ctx, nullptr, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return Error{ErrorCode::permission_denied, "a sealed secret did not open (wrong key, tenant or name)"};
  return plain;
}

std::string SecretBox::derive_key(const std::string& purpose) const {
  return hmac_sha256(key_, purpose);
}

}  // namespace soulbox::tenants
