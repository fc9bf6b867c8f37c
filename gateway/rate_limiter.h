// Per-caller request rate limits: a token bucket per principal (`rate`
// requests a second, bursts up to `burst`). A refused request learns how
// many seconds until one would pass (Retry-After).
#pragma once
#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <unordered_map>

namespace soulbox::gateway {

class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // 0 when the request may go on, else the whole seconds to wait.
  int take(const std::string& caller) {
    if (rate_ <= 0) return 0;  // unlimited
    const double now = seconds();
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() > kMaxCallers) buckets_.clear();  // bounded memory; a reset only forgives
    auto [it, fresh] = buckets_.try_emplace(caller, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) b.tokens = std::min(burst_, b.tokens + (now - b.at) * rate_);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return std::max(1, int(std::ceil((1 - b.tokens) / rate_)));
  }

 private:
  static constexpr size_t kMaxCallers = 100000;
  struct Bucket {
    double tokens, at;
  };
  static double seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace soulbox::gateway
