// Tenant state as nodes rebuild it from the SB_EVENTS stream at every start
// (anyone with publish rights could write there): decode_tenant,
// decode_quota, decode_policy, decode_usage and usage_change_of on any bytes. What decodes
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
  round_trip(text, tn::decode_usage, [](const tn::Usage& u) { return tn::encode_usage(u); });
  // The change tag recovery reads back from the usage history.
  const std::string tag = tn::usage_change_of(text);
  if (!tag.empty() && tn::usage_change_of(tn::encode_usage(tn::Usage{}, tag)) != tag) __builtin_trap();
  return 0;
}
