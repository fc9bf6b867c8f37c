#include "common/base64.h"

#include <openssl/evp.h>

namespace soulbox {

std::string base64_encode(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), int(data.size()));
  out.resize(size_t(n));
  return out;
}

Result<std::string> base64_decode(const std::string& text) {
  const Error bad{ErrorCode::invalid_argument, "not base64"};
  if (text.size() % 4) return bad;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
  if (n < 0) return bad;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t len = size_t(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && i + 2 > text.size(); --i) --len;
  out.resize(len);
  return out;
}

}  // namespace soulbox
