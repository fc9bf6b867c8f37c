// The last samples of one sandbox's metrics, oldest first, in a fixed-size
// ring (one per second: an hour by default), queried by time range.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace soulbox::actors {

struct MetricsPoint {
  int64_t unix_ms = 0;
  float cpu_percent = 0;
  float memory_percent = 0;
  uint64_t memory_bytes = 0;
  uint64_t disk_read_bytes = 0;
  uint64_t disk_write_bytes = 0;
  uint64_t net_rx_bytes = 0;
  uint64_t net_tx_bytes = 0;
  uint32_t processes = 0;
  uint32_t oom_kills = 0;  // processes the OOM killer took, since the sandbox started
};

class MetricsRing {
 public:
  explicit MetricsRing(size_t capacity = 3600) : capacity_(capacity ? capacity : 1) {}
  void add(const MetricsPoint& point);
  // Samples with from <= unix_ms <= to (0 = unbounded), oldest first.
  std::vector<MetricsPoint> range(int64_t from_unix_ms, int64_t to_unix_ms) const;
  size_t size() const { return points_.size(); }

 private:
  size_t capacity_;
  size_t next_ = 0;  // where the next point goes once full
  std::vector<MetricsPoint> points_;
};

}  // namespace soulbox::actors
