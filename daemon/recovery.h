// What a restart finds. soulboxd's sandboxes do not outlive it: when the
// daemon dies its launcher sees EOF (or dies too) and every agent dies with
// it (PR_SET_PDEATHSIG); the next launcher's Runtime::open removes what they
// left (scratch dirs, cgroups). So recovery is a clean kill, not a
// re-adoption: records still marked live are closed with reason
// "node restart", and RocksDB again matches reality.
#pragma once
#include <cstddef>

#include "common/result.h"
#include "storage/store.h"

namespace soulbox::daemon {

// Marks every record that is not Terminated as Terminated ("node restart");
// returns how many it closed.
Result<size_t> close_orphaned_records(storage::Store& store);

}  // namespace soulbox::daemon
