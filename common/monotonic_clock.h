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

// Milliseconds from now until `deadline_ns` (0 = none: -1), rounded up and
// kept within [0, cap_ms]: an epoll timeout that wakes at the deadline.
inline int ms_until(int64_t deadline_ns, int64_t cap_ms = 60000) {
  if (deadline_ns == 0) return -1;
  const int64_t ms = (deadline_ns - monotonic_ns() + 999999) / 1000000;
  return int(ms < 0 ? 0 : ms > cap_ms ? cap_ms : ms);
}

}  // namespace soulbox
