// Audit records and checkpoints as nodes and `soulboxd audit` read them
// back (JSON lines from the SB_AUDIT stream and from files): each line of
// the input through decode_record, decode_event (audit outbox entries) and
// decode_checkpoint, what decodes re-encoded and decoded again, and the
// decoded records' chain checked by verify_links (order, links, digests,
// hashes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audit/audit_chain.h"

namespace au = soulbox::audit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<au::Record> records;
  size_t start = 0;
  while (start <= input.size()) {
    const size_t end = std::min(input.find('\n', start), input.size());
    const std::string line = input.substr(start, end - start);
    start = end + 1;
    if (auto record = au::decode_record(line)) {
      const std::string encoded = au::encode_record(*record);
      auto again = au::decode_record(encoded);
      if (!again || au::encode_record(*again) != encoded) __builtin_trap();
      records.push_back(std::move(*record));
    }
    // An audit outbox entry (audit/audit_outbox.h) is one event.
    if (auto event = au::decode_event(line)) {
      const std::string encoded = au::encode_event(*event);
      auto again = au::decode_event(encoded);
      if (!again || au::encode_event(*again) != encoded) __builtin_trap();
    }
    if (auto checkpoint = au::decode_checkpoint(line)) {
      auto again = au::decode_checkpoint(au::encode_checkpoint(*checkpoint));
      if (!again || again->seq != checkpoint->seq || again->head_hash != checkpoint->head_hash) __builtin_trap();
    }
  }
  const auto report = au::verify_links(records);
  if (!report.ok && report.first_bad > records.size()) __builtin_trap();
  return 0;
}
