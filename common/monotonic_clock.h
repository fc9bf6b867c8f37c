// CLOCK_MONOTONIC in one call: deadlines and durations that wall-clock
// changes must not move.
#pragma once
#include <time.h>

#include <cstdint>

namespace soulbox {

inline int64_t monotonic_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace soulbox
