// Node-local state in RocksDB. Only storage/ includes rocksdb: callers see
// column families as an enum, keys and values as bytes, and Result/Status.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::storage {

// Column families. Append only: the names are on disk.
enum class Family {
  sandboxes,      // sandbox records (lifecycle state, spec, owner node)
  templates,      // template metadata
  pool,           // warm pool bookkeeping
  metrics,        // sampled metrics, keyed by sandbox + time
  applied,        // ids of bus messages already applied (redelivery dedup)
  views,          // materialised views folded from event streams
  audit,          // this node's audit records, keyed by zero-padded sequence
  audit_outbox,   // audit events written with the state change they describe, not yet in `audit`
  quota_intents,  // quota a create is spending, until its sandbox record (or its undo) is written
};

struct Write {
  Family family;
  std::string key;
  std::optional<std::string> value;  // nullopt: delete
};

struct StoreOptions {
  std::string path;        // directory, created if missing
  bool read_only = false;  // for tools next to a running daemon (no lock taken)
  // What RocksDB may hold in memory: unflushed writes of all families
  // together, and the blocks read (with their index and filter blocks).
  // The node's state is small; RocksDB's defaults (64 MiB of memtable per
  // family before any flush) would hold hours of it in the daemon's RSS.
  uint64_t write_buffer_budget_bytes = 4ull << 20;
  uint64_t block_cache_bytes = 4ull << 20;
  // Table files kept open (one fd each; RocksDB's default keeps every one):
  // families with increasing keys (audit) add a file per flush.
  int max_open_table_files = 64;
};

// What RocksDB holds in memory for a store (bytes).
struct MemoryUse {
  uint64_t memtables = 0;      // written, not yet flushed, all families
  uint64_t block_cache = 0;    // read blocks, index and filter blocks
  uint64_t table_readers = 0;  // index and filter blocks held outside the cache
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  virtual ~Store() = default;

  // `sync`: fsync the WAL before returning (lifecycle and audit writes).
  // Without it a write survives a process crash (the WAL is in the page
  // cache), not an OS crash (docs/stack-notes.md S9).
  virtual Status write(const std::vector<Write>& writes, bool sync) = 0;
  virtual Status put(Family family, const std::string& key, const std::string& value, bool sync) = 0;
  virtual Result<std::optional<std::string>> get(Family family, const std::string& key) = 0;

  // Applies `writes` and records `message_id` (with `outcome`, readable
  // later with get(Family::applied, message_id)) in one atomic batch; a
  // message id seen before applies nothing and returns false. This makes
  // at-least-once delivery effectively once.
  virtual Result<bool> apply_once(const std::string& message_id, const std::vector<Write>& writes, bool sync,
                                  const std::string& outcome = "") = 0;

  // Makes every write so far durable (fsyncs the WAL): for callers that
  // write unsynced (visible at once) and answer before paying for the sync.
  virtual Status sync() = 0;

  // Calls `visit` for every key starting with `prefix`, in key order, until
  // it returns false.
  virtual Status scan(Family family, const std::string& prefix,
                      const std::function<bool(const std::string& key, const std::string& value)>& visit) = 0;

  virtual MemoryUse memory_use() = 0;
};

const char* family_name(Family family);

}  // namespace soulbox::storage
