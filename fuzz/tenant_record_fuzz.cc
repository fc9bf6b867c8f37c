// Tenant state as nodes rebuild it from the SB_EVENTS stream at every start
// (anyone with publish rights could write there): decode_tenant,
// decode_quota, decode_policy and decode_usage on any bytes. What decodes
// must encode and decode again to the same record.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tenants/tenant_record.h"

namespace tn = soulbox::tenants;

namespace {

// decode(encode(decode(text))) succeeds and encodes as decode(text) did.
template <class Decode, class Encode>
void round_trip(const std::string& text, Decode decode, Encode encode) {
  auto first = decode(text);
  if (!first) return;
  const std::string encoded = encode(*first);
  auto second = decode(encoded);
  if (!second || encode(*second) != encoded) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  round_trip(text, tn::decode_tenant, tn::encode_tenant);
  round_trip(text, tn::decode_quota, tn::encode_quota);
  round_trip(text, tn::decode_policy, tn::encode_policy);
  round_trip(text, tn::decode_usage, tn::encode_usage);
  return 0;
}
