// The timing of a Connect server stream: the client's deadline
// (Connect-Timeout-Ms), keepalives (E2B's envd sends one every 50 s) and a
// short tick so a stream with nothing to send notices a client that left.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace soulbox::gateway {

class StreamClock {
 public:
  explicit StreamClock(const std::string& timeout_header, int keepalive_ms = 50000, int tick_ms = 1000)
      : keepalive_ms_(keepalive_ms), tick_ms_(tick_ms), next_keepalive_(now() + keepalive_ms) {
    if (!timeout_header.empty()) deadline_ = now() + std::max(0LL, std::strtoll(timeout_header.c_str(), nullptr, 10));
  }
  // How long to wait for the next event before looking again.
  int wait_ms() const {
    int64_t until = std::min(next_keepalive_, now() + tick_ms_);
    if (deadline_) until = std::min(until, deadline_);
    return int(std::max<int64_t>(0, until - now()));
  }
  bool deadline_passed() const { return deadline_ && now() >= deadline_; }
  // True once per keepalive interval.
  bool keepalive_due() {
    if (now() < next_keepalive_) return false;
    next_keepalive_ = now() + keepalive_ms_;
    return true;
  }

 private:
  static int64_t now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t keepalive_ms_, tick_ms_, next_keepalive_, deadline_ = 0;
};

}  // namespace soulbox::gateway
