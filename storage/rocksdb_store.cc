#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <mutex>

#include "storage/rocksdb_memory.h"
#include "storage/store.h"

namespace soulbox::storage {
namespace {

constexpr Family kFamilies[] = {Family::sandboxes, Family::templates,    Family::pool,
                                Family::metrics,   Family::applied,      Family::views,
                                Family::audit,     Family::audit_outbox, Family::quota_intents};

// rocksdb::Status -> Error, in this one place.
Error to_error(const rocksdb::Status& s, const std::string& what) {
  const ErrorCode code = s.IsNotFound()                      ? ErrorCode::not_found
                         : s.IsIOError() || s.IsCorruption() ? ErrorCode::io_error
                         : s.IsInvalidArgument()             ? ErrorCode::invalid_argument
                                                             : ErrorCode::internal;
  return Error{code, what + ": " + s.ToString()};
}

class RocksStore final : public Store {
 public:
  RocksStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {}

  ~RocksStore() override {
    // Handles go before the DB (RocksDB requirement).
    for (auto* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    (void)db_->Close();
  }

  Status write(const std::vector<Write>& writes, bool sync) override {
    rocksdb::WriteBatch batch;
    add(batch, writes);
    return commit(batch, sync);
  }

  Status put(Family family, const std::string& key, const std::string& value, bool sync) override {
    return write({Write{family, key, value}}, sync);
  }

  Result<std::optional<std::string>> get(Family family, const std::string& key) override {
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), handle(family), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return to_error(s, std::string("get ") + family_name(family));
    return std::optional<std::string>(std::move(value));
  }

  Result<bool> apply_once(const std::string& message_id, const std::vector<Write>& writes, bool sync,
                          const std::string& outcome) override {
    // The check and the batch must not interleave with another apply of
    // the same id from another thread.
    std::lock_guard<std::mutex> lock(apply_mu_);
    auto seen = get(Family::applied, message_id);
    if (!seen) return seen.error();
    if (seen->has_value()) return false;
    rocksdb::WriteBatch batch;
    add(batch, writes);
    batch.Put(handle(Family::applied), message_id, outcome);
    if (auto st = commit(batch, sync); !st) return st.error();
    return true;
  }

  Status sync() override {
    const rocksdb::Status s = db_->SyncWAL();
    if (!s.ok()) return to_error(s, "sync WAL");
    return {};
  }

  MemoryUse memory_use() override {
    MemoryUse use;
    uint64_t value = 0;
    if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) use.memtables = value;
    if (db_->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &value)) use.block_cache = value;
    if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &value))
      use.table_readers = value;
    return use;
  }

  Status scan(Family family, const std::string& prefix,
              const std::function<bool(const std::string&, const std::string&)>& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(family)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      if (!visit(it->key().ToString(), it->value().ToString())) break;
    if (!it->status().ok()) return to_error(it->status(), std::string("scan ") + family_name(family));
    return {};
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(Family f) const { return handles_[size_t(f) + 1]; }  // [0] = default

  void add(rocksdb::WriteBatch& batch, const std::vector<Write>& writes) const {
    for (const auto& w : writes) {
      if (w.value)
        batch.Put(handle(w.family), w.key, *w.value);
      else
        batch.Delete(handle(w.family), w.key);
    }
  }

  Status commit(rocksdb::WriteBatch& batch, bool sync) {
    rocksdb::WriteOptions options;
    options.sync = sync;
    const auto s = db_->Write(options, &batch);
    if (!s.ok()) return to_error(s, "write batch");
    return {};
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::mutex apply_mu_;
};

}  // namespace

const char* family_name(Family family) {
  switch (family) {
    case Family::sandboxes:
      return "sandboxes";
    case Family::templates:
      return "templates";
    case Family::pool:
      return "pool";
    case Family::metrics:
      return "metrics";
    case Family::applied:
      return "applied";
    case Family::views:
      return "views";
    case Family::audit:
      return "audit";
    case Family::audit_outbox:
      return "audit_outbox";
    case Family::quota_intents:
      return "quota_intents";
  }
  return "unknown";
}

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  const BoundedOptions bounded = bounded_options(options);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {{rocksdb::kDefaultColumnFamilyName, bounded.family}};
  for (Family f : kFamilies) descriptors.emplace_back(family_name(f), bounded.family);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const auto s = options.read_only ? rocksdb::DB::OpenForReadOnly(bounded.db, options.path, descriptors, &handles, &raw)
                                   : rocksdb::DB::Open(bounded.db, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return to_error(s, "open RocksDB at " + options.path);
  return std::unique_ptr<Store>(new RocksStore(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

}  // namespace soulbox::storage
