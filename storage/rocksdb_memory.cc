#include "storage/rocksdb_memory.h"

#include <rocksdb/cache.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>

namespace soulbox::storage {

BoundedOptions bounded_options(const StoreOptions& options) {
  BoundedOptions o;
  o.db.create_if_missing = true;
  o.db.create_missing_column_families = true;
  // Memtables of all families together: past the budget the largest one is
  // flushed, whichever family it is. RocksDB's default is 64 MiB per family
  // before any flush, which a node fills over hours of sandboxes.
  o.db.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(size_t(options.write_buffer_budget_bytes));
  // A log file goes only once every family with data in it has flushed; a
  // family written once (templates, views) would keep every later log.
  // Past this size the families holding the oldest log are flushed.
  o.db.max_total_wal_size = 2 * options.write_buffer_budget_bytes;
  // Table files beyond this are closed and reopened when read (RocksDB keeps
  // every one open by default: one fd and one reader each).
  o.db.max_open_files = options.max_open_table_files;
  // One shard: the bound is split across the shards, and with the default 64
  // each keeps at least one file.
  o.db.table_cache_numshardbits = 0;
  // RocksDB's own LOG, rotated instead of growing for the daemon's lifetime.
  o.db.max_log_file_size = 1 << 20;
  o.db.keep_log_file_num = 4;

  // A family's memtable is also flushed at a quarter of the budget on its
  // own, so one busy family cannot take the whole budget.
  o.family.write_buffer_size = std::max<size_t>(size_t(options.write_buffer_budget_bytes / 4), 64 << 10);
  o.family.max_write_buffer_number = 2;
  // Table files keep RocksDB's default size (64 MiB): compaction merges the
  // small flushed files of most families into few large ones.
  // One cache for all families, holding their index and filter blocks too
  // (otherwise each open table file keeps its own, outside any limit).
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(size_t(options.block_cache_bytes));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  o.family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

}  // namespace soulbox::storage
