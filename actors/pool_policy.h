// How many warm sandboxes a template's pool keeps, by strategy. Pure logic
// (unit-tested); the pool actor feeds it acquire times.
#pragma once
#include <cstdint>
#include <deque>
#include <string>

#include "common/result.h"

namespace soulbox::actors {

enum class PoolStrategy {
  fixed,       // always min_warm
  historical,  // the busiest 10 s of the last 5 minutes, so recurring bursts find warm sandboxes
  dynamic,     // 1.5x the acquires of the last 10 s: follows the current rate quickly
};

Result<PoolStrategy> parse_pool_strategy(const std::string& name);
const char* pool_strategy_name(PoolStrategy strategy);

struct PoolConfig {
  std::string template_name = "base";
  PoolStrategy strategy = PoolStrategy::fixed;
  uint32_t min_warm = 2;
  uint32_t max_size = 8;
  int64_t max_idle_ms = 600000;  // warm sandboxes older than this are replaced
};

class PoolDemand {
 public:
  void record(int64_t now_ms);
  // Warm sandboxes to keep at `now_ms`, within [min_warm, max_size].
  uint32_t target(const PoolConfig& config, int64_t now_ms);

 private:
  void forget_before(int64_t cutoff_ms);
  std::deque<int64_t> acquires_;  // times of acquires in the last 5 minutes
};

}  // namespace soulbox::actors
