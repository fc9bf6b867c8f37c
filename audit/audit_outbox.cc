#include "audit/audit_outbox.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "common/log.h"

namespace soulbox::audit {
namespace {

// Unreadable entries move here: '~' sorts after the digits event keys start with.
constexpr const char* kUnreadablePrefix = "~unreadable/";

std::string outbox_key(const Event& event) {
  char time[24];
  std::snprintf(time, sizeof time, "%020lld", static_cast<long long>(event.unix_ms));
  return std::string(time) + "/" + event.id;
}

}  // namespace

storage::Write outbox_write(const Event& event) {
  return {storage::Family::audit_outbox, outbox_key(event), encode_event(event)};
}

Result<size_t> drain_outbox(storage::Store& store, AuditLog& log) {
  std::vector<std::pair<std::string, std::string>> entries;
  auto scanned = store.scan(storage::Family::audit_outbox, "", [&](const std::string& key, const std::string& value) {
    if (key.rfind(kUnreadablePrefix, 0) == 0) return false;
    entries.emplace_back(key, value);
    return true;
  });
  if (!scanned) return scanned.error();
  size_t appended = 0;
  for (const auto& [key, value] : entries) {
    auto event = decode_event(value);
    if (!event) {
      logger("audit")->error("audit outbox entry {} is unreadable ({}); kept aside", key, event.error().message);
      auto moved = store.write({{storage::Family::audit_outbox, kUnreadablePrefix + key, value},
                                {storage::Family::audit_outbox, key, std::nullopt}},
                               /*sync=*/true);
      if (!moved) return moved.error();
      continue;
    }
    auto record = log.append(*event, key);
    if (!record) {
      // Stored but not published (the bus is down): the stream catches up
      // at the next start. Not stored: stop, the entry is still here.
      auto left = store.get(storage::Family::audit_outbox, key);
      if (!left || left->has_value()) return record.error();
      logger("audit")->warn("audit event {} stored, not yet on the stream: {}", event->id, record.error().message);
    }
    ++appended;
  }
  return appended;
}

}  // namespace soulbox::audit
