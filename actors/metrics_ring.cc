#include "actors/metrics_ring.h"

namespace soulbox::actors {

void MetricsRing::add(const MetricsPoint& point) {
  if (points_.size() < capacity_) {
    points_.push_back(point);
    return;
  }
  points_[next_] = point;
  next_ = (next_ + 1) % capacity_;
}

std::vector<MetricsPoint> MetricsRing::range(int64_t from_unix_ms, int64_t to_unix_ms) const {
  std::vector<MetricsPoint> out;
  const size_t n = points_.size();
  const size_t oldest = n < capacity_ ? 0 : next_;
  for (size_t i = 0; i < n; ++i) {
    const MetricsPoint& p = points_[(oldest + i) % n];
    if (from_unix_ms && p.unix_ms < from_unix_ms) continue;
    if (to_unix_ms && p.unix_ms > to_unix_ms) continue;
    out.push_back(p);
  }
  return out;
}

}  // namespace soulbox::actors
