#include "tenants/record_seal.h"

#include <openssl/crypto.h>

#include "common/hex.h"
#include "common/hmac.h"

namespace soulbox::tenants {
namespace {

constexpr char kMagic[] = "SBT1 ";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
constexpr size_t kHexSize = 64;

}  // namespace

std::string RecordSeal::seal(const std::string& record_json) const {
  return kMagic + hex_encode(hmac_sha256(key_, record_json)) + "\n" + record_json;
}

Result<std::string> RecordSeal::open(const std::string& sealed) const {
  const size_t body = kMagicSize + kHexSize + 1;
  if (sealed.size() < body || sealed.compare(0, kMagicSize, kMagic) != 0 || sealed[body - 1] != '\n')
    return Error{ErrorCode::permission_denied, "tenant record without a seal (not written by a node)"};
  std::string record = sealed.substr(body);
  const std::string expected = hex_encode(hmac_sha256(key_, record));
  if (CRYPTO_memcmp(expected.data(), sealed.data() + kMagicSize, kHexSize) != 0)
    return Error{ErrorCode::permission_denied,
                 "tenant record whose seal does not match (not written by a node of this cluster: nodes of a "
                 "cluster share --secrets-key)"};
  return record;
}

}  // namespace soulbox::tenants
