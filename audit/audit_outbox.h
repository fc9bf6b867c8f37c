// The audit outbox. An audit event that describes a change of stored state
// (a sandbox created, ended, paused) is written into the audit_outbox
// family in the same RocksDB batch as that state, so no crash can keep one
// without the other. The audit actor then moves each entry into the signed
// chain (AuditLog::append deletes it in the batch that stores the record),
// and the chain's records go to SB_AUDIT (republished at start when a crash
// came first). What is in the outbox at start is drained before anything
// else is audited.
#pragma once
#include <cstddef>

#include "audit/audit_chain.h"
#include "audit/audit_log.h"
#include "storage/store.h"

namespace soulbox::audit {

// The write that puts `event` in the outbox; keys sort by the event's time.
storage::Write outbox_write(const Event& event);

// Appends every event in the outbox to `log`, oldest first, each removed
// from the outbox with its record. An unreadable entry is logged, kept
// aside (renamed under "~unreadable/", after every event key) and
// skipped. Returns how many
// events it appended.
Result<size_t> drain_outbox(storage::Store& store, AuditLog& log);

}  // namespace soulbox::audit
