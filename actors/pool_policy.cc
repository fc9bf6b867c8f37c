#include "actors/pool_policy.h"

#include <algorithm>
#include <cmath>

namespace soulbox::actors {
namespace {
constexpr int64_t kHistoryMs = 300000;
constexpr int64_t kBucketMs = 10000;
}  // namespace

Result<PoolStrategy> parse_pool_strategy(const std::string& name) {
  if (name == "fixed") return PoolStrategy::fixed;
  if (name == "historical") return PoolStrategy::historical;
  if (name == "dynamic") return PoolStrategy::dynamic;
  return Error{ErrorCode::invalid_argument, "pool strategy must be fixed, historical or dynamic, got '" + name + "'"};
}

const char* pool_strategy_name(PoolStrategy strategy) {
  switch (strategy) {
    case PoolStrategy::fixed:
      return "fixed";
    case PoolStrategy::historical:
      return "historical";
    case PoolStrategy::dynamic:
      return "dynamic";
  }
  return "?";
}

void PoolDemand::record(int64_t now_ms) {
  acquires_.push_back(now_ms);
  forget_before(now_ms - kHistoryMs);
}

void PoolDemand::forget_before(int64_t cutoff_ms) {
  while (!acquires_.empty() && acquires_.front() < cutoff_ms) acquires_.pop_front();
}

uint32_t PoolDemand::target(const PoolConfig& config, int64_t now_ms) {
  forget_before(now_ms - kHistoryMs);
  uint64_t wanted = config.min_warm;
  if (config.strategy == PoolStrategy::historical) {
    uint64_t busiest = 0;
    for (int64_t start = now_ms - kHistoryMs; start < now_ms; start += kBucketMs) {
      const auto n = uint64_t(std::count_if(acquires_.begin(), acquires_.end(),
                                            [&](int64_t t) { return t >= start && t < start + kBucketMs; }));
      busiest = std::max(busiest, n);
    }
    wanted = std::max<uint64_t>(wanted, busiest);
  } else if (config.strategy == PoolStrategy::dynamic) {
    const auto recent =
        uint64_t(std::count_if(acquires_.begin(), acquires_.end(), [&](int64_t t) { return t >= now_ms - kBucketMs; }));
    wanted = std::max<uint64_t>(wanted, uint64_t(std::ceil(double(recent) * 1.5)));
  }
  return uint32_t(std::min<uint64_t>(wanted, config.max_size));
}

}  // namespace soulbox::actors
