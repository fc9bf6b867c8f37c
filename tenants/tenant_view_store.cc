#include "tenants/tenant_view_store.h"

namespace soulbox::tenants {
namespace {

constexpr const char* kTenantPrefix = "tenant/";
constexpr const char* kLastSeqKey = "tenants-last-seq";

}  // namespace

Result<StoredView> load_view(storage::Store& store) {
  StoredView view;
  auto last = store.get(storage::Family::views, kLastSeqKey);
  if (!last) return last.error();
  if (last->has_value()) view.last_seq = std::strtoull((*last)->c_str(), nullptr, 10);
  Status bad;
  auto scanned = store.scan(storage::Family::views, kTenantPrefix, [&](const std::string& key, const std::string& v) {
    auto t = decode_tenant(v);
    if (!t) {
      bad = Error{ErrorCode::internal, "view record " + key + ": " + t.error().message};
      return false;
    }
    view.tenants[t->name] = std::move(*t);
    return true;
  });
  if (!scanned) return scanned.error();
  if (!bad) return bad.error();
  return view;
}

Status save_view_event(storage::Store& store, const TenantRecord& record, uint64_t seq) {
  return store.write({{storage::Family::views, kTenantPrefix + record.name, encode_tenant(record)},
                      {storage::Family::views, kLastSeqKey, std::to_string(seq)}},
                     /*sync=*/false);
}

}  // namespace soulbox::tenants
