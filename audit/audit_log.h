// A node's audit log: appends each event as the next signed record, stores
// it (synced) in RocksDB's `audit` family, publishes it to the SB_AUDIT
// stream on sb.v1.audit.events.<node>, and writes a signed checkpoint to a
// file outside RocksDB every `checkpoint_every` records and on close.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_chain.h"
#include "storage/store.h"

namespace soulbox::audit {

struct AuditLogOptions {
  std::string key_path;         // <data>/audit/audit-key.pem
  std::string checkpoint_path;  // <data>/audit/checkpoints.jsonl
  int checkpoint_every = 100;
};

// Publishes one record line; set by the daemon (JetStream), empty in tools.
using RecordSink = std::function<Status(const Record&, const std::string& line)>;

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> open(storage::Store& store, const AuditLogOptions& options, RecordSink sink);
  ~AuditLog();  // writes a final checkpoint
  // `outbox_key`: the event comes from the audit_outbox family; that entry
  // is deleted in the same batch that stores the record (audit_outbox.h).
  Result<Record> append(const Event& event, const std::string& outbox_key = "");
  const std::string& public_key() const { return public_key_; }
  // Sends the stored records after `published_seq` to the sink again (a
  // crash between the store and the publish, or a bus outage, left the
  // stream behind); how many.
  Result<size_t> republish_after(uint64_t published_seq);
  // Retention: erases the content of every event older than its tenant's
  // retention (`retention_ms(tenant)`, 0: keep) as of `now_ms`; the chain
  // still verifies. How many it erased.
  Result<size_t> erase_expired(const std::function<int64_t(const std::string& tenant)>& retention_ms, int64_t now_ms);

 private:
  AuditLog(storage::Store& store, AuditLogOptions options, RecordSink sink)
      : store_(store), options_(std::move(options)), sink_(std::move(sink)) {}
  Status checkpoint();

  storage::Store& store_;
  AuditLogOptions options_;
  RecordSink sink_;
  std::unique_ptr<SigningKey> key_;
  std::string public_key_;
  std::optional<Record> head_;
  int since_checkpoint_ = 0;
};

std::string record_key(uint64_t seq);  // zero-padded: keys sort by sequence

// Every record in the store, in order (unreadable ones become records that
// fail verification rather than vanishing).
Result<std::vector<Record>> load_records(storage::Store& store);
// The newest checkpoint in a checkpoint file (nullopt: none yet).
Result<std::optional<Checkpoint>> newest_checkpoint(const std::string& path);

}  // namespace soulbox::audit
