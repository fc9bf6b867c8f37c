#include "actors/ended_records.h"

#include <string>
#include <vector>

#include "actors/sandbox_record.h"

namespace soulbox::actors {
namespace {

bool ended_long_ago(const SandboxRecord& r, int64_t now_ms, int64_t keep_ms) {
  if (r.state != busproto::SandboxState::Terminated || r.quota_ask) return false;
  const int64_t ended = r.ended_unix_ms ? r.ended_unix_ms : r.created_unix_ms;
  return now_ms - ended >= keep_ms;
}

constexpr const char* kCreateKeyPrefix = "create/";  // create_request_key()

}  // namespace

Result<ForgetCounts> forget_ended_records(storage::Store& store, int64_t now_ms, int64_t keep_ms, size_t max_records) {
  auto records = load_records(store);
  if (!records) return records.error();
  std::vector<storage::Write> deletes;
  for (const auto& r : *records) {
    if (deletes.size() == max_records) break;
    if (ended_long_ago(r, now_ms, keep_ms)) deletes.push_back({storage::Family::sandboxes, r.id, std::nullopt});
  }
  ForgetCounts counts;
  counts.records = deletes.size();
  if (!deletes.empty())
    if (auto gone = store.write(deletes, /*sync=*/false); !gone) return gone.error();

  // A create request key and its record are written in one batch, so a key
  // without a record is one whose record was deleted above or before.
  std::vector<storage::Write> keys;
  std::vector<std::pair<std::string, std::string>> named;  // key, sandbox id
  auto scanned =
      store.scan(storage::Family::applied, kCreateKeyPrefix, [&](const std::string& k, const std::string& v) {
        named.emplace_back(k, v);
        return true;
      });
  if (!scanned) return scanned.error();
  for (const auto& [key, id] : named) {
    auto record = store.get(storage::Family::sandboxes, id);
    if (!record) return record.error();
    if (!record->has_value()) keys.push_back({storage::Family::applied, key, std::nullopt});
  }
  counts.request_keys = keys.size();
  if (!keys.empty())
    if (auto gone = store.write(keys, /*sync=*/false); !gone) return gone.error();
  return counts;
}

}  // namespace soulbox::actors
