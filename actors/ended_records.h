// Retention of what a node stores about sandboxes that ended: their records
// (family `sandboxes`, kept so `list` with the terminated state and a repeated
// create request can still answer) and the create request keys naming them
// (family `applied`). Without it both grow by one entry per sandbox life
// forever, and every `list` reads them all.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/result.h"
#include "storage/store.h"

namespace soulbox::actors {

struct ForgetCounts {
  size_t records = 0;       // terminated records deleted
  size_t request_keys = 0;  // create request keys deleted (their sandbox's record is gone)
};

// Deletes the records of sandboxes that ended at least `keep_ms` before
// `now_ms` (records from before ended_unix_ms existed count from their
// creation) and the create request keys whose sandbox has no record any more.
// A record still holding its tenant's quota is kept: recovery gives that back
// from the record (daemon/recovery.h). At most `max_records` records go per
// call, so one call never holds the node's actor long.
Result<ForgetCounts> forget_ended_records(storage::Store& store, int64_t now_ms, int64_t keep_ms,
                                          size_t max_records = 5000);

}  // namespace soulbox::actors
