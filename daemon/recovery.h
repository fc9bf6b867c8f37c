// What a restart finds. soulboxd's sandboxes do not outlive it: when the
// daemon dies its launcher sees EOF and destroys every sandbox (processes,
// cgroups, scratch dirs); if the launcher was killed too, the agents die with
// it (PR_SET_PDEATHSIG) and the next launcher's Runtime::open removes what
// they left. So recovery is a clean kill, not a re-adoption: records still marked live are closed with reason
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
