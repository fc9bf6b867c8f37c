// This node's tenant view in RocksDB (family `views`): each tenant record
// as the newest SB_EVENTS event said it, written in one batch with the
// stream sequence it came from. A restart folds only what came after.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"
#include "storage/store.h"
#include "tenants/tenant_record.h"

namespace soulbox::tenants {

struct StoredView {
  std::map<std::string, TenantRecord> tenants;
  uint64_t last_seq = 0;  // the newest SB_EVENTS sequence folded in
};

Result<StoredView> load_view(storage::Store& store);
// Unsynced: a view lost in an OS crash is folded again from the stream.
Status save_view_event(storage::Store& store, const TenantRecord& record, uint64_t seq);

}  // namespace soulbox::tenants
