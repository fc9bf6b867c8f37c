#include "daemon/recovery.h"

#include "actors/sandbox_actor.h"
#include "actors/sandbox_record.h"

namespace soulbox::daemon {

Result<size_t> close_orphaned_records(storage::Store& store) {
  auto records = actors::load_records(store);
  if (!records) return records.error();
  size_t closed = 0;
  for (auto& r : *records) {
    if (r.state == busproto::SandboxState::Terminated) continue;
    r.state = busproto::SandboxState::Terminated;
    r.end_reason = actors::end_reason::node_restart;
    r.expires_unix_ms = 0;
    if (auto saved = actors::save_record(store, r); !saved) return saved.error();
    ++closed;
  }
  return closed;
}

}  // namespace soulbox::daemon
