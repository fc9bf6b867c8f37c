// The wall clock in one call: timestamps that leave the process (records,
// audit events, expiry times others compare). Deadlines and durations use
// common/monotonic_clock.h instead.
#pragma once
#include <chrono>
#include <cstdint>

namespace soulbox {

inline int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace soulbox
