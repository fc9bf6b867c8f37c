// RocksDB's options sized for a node's state: a few KiB per sandbox, read
// rarely, kept for the daemon's lifetime. Only storage/ includes this.
#pragma once
#include <rocksdb/options.h>

#include "storage/store.h"

namespace soulbox::storage {

struct BoundedOptions {
  rocksdb::DBOptions db;
  // For every column family: copies share one table factory, so one block
  // cache.
  rocksdb::ColumnFamilyOptions family;
};

// One write buffer manager and one block cache for the whole store, each
// within `options`' budget.
BoundedOptions bounded_options(const StoreOptions& options);

}  // namespace soulbox::storage
