#include "audit/signing_key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdio>

namespace soulbox::audit {
namespace {

EVP_PKEY* as_key(void* p) {
  return static_cast<EVP_PKEY*>(p);
}

Error openssl_error(const std::string& what) {
  return Error{ErrorCode::internal, what + " (OpenSSL)"};
}

}  // namespace

Result<std::unique_ptr<SigningKey>> SigningKey::generate() {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return openssl_error("generating an Ed25519 key");
  return std::unique_ptr<SigningKey>(new SigningKey(key));
}

Result<std::unique_ptr<SigningKey>> SigningKey::load(const std::string& path) {
  FILE* in = std::fopen(path.c_str(), "r");
  if (!in) return Error{ErrorCode::not_found, "no audit key at " + path};
  EVP_PKEY* key = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
  std::fclose(in);
  if (!key) return Error{ErrorCode::internal, "cannot read the audit key in " + path};
  return std::unique_ptr<SigningKey>(new SigningKey(key));
}

Result<std::unique_ptr<SigningKey>> SigningKey::load_or_create(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0) return load(path);
  auto made = generate();
  if (!made) return made;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("create " + path);
  FILE* out = ::fdopen(fd, "w");
  const bool written =
      out && PEM_write_PrivateKey(out, as_key((*made)->pkey_), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (out) std::fclose(out);
  if (!written) return Error{ErrorCode::io_error, "cannot write the audit key to " + path};
  return made;
}

SigningKey::~SigningKey() {
  EVP_PKEY_free(as_key(pkey_));
}

Result<std::string> SigningKey::sign(const std::string& message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  size_t len = sig.size();
  const bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, as_key(pkey_)) == 1 &&
                  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                                 reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return openssl_error("signing");
  sig.resize(len);
  return sig;
}

std::string SigningKey::public_key() const {
  std::string pub(32, '\0');
  size_t len = pub.size();
  EVP_PKEY_get_raw_public_key(as_key(pkey_), reinterpret_cast<unsigned char*>(pub.data()), &len);
  pub.resize(len);
  return pub;
}

bool verify_signature(const std::string& public_key, const std::string& message, const std::string& signature) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()), public_key.size());
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

std::string sha256(const std::string& data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(), nullptr);
  out.resize(len);
  return out;
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string unhex(const std::string& text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() % 2) return "";
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out += char(hi << 4 | lo);
  }
  return out;
}

}  // namespace soulbox::audit
