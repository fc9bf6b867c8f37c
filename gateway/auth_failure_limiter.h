// Failed authentications counted per source, so that guessing keys (or a
// script stuck on a bad one) costs the tenant service at most `max_failures`
// checks per source and window. A source past its limit is answered 429
// until its window ends, before any bus call, except for credentials
// accepted recently ("known good"): many clients share one address (every
// process on a host is 127.0.0.1), and one bad script must not lock the
// others out. Known-good credentials are remembered as SHA-256 hashes,
// never as the secrets themselves. Memory is bounded: at most `max_sources`
// sources (more share one entry) and `max_known_good` hashes.
#pragma once
#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace soulbox::gateway {

struct AuthFailureLimits {
  int max_failures = 20;  // per source and window; 0: no limit
  double window_s = 60;
  size_t max_sources = 10000;
  size_t max_known_good = 10000;
  double known_good_s = 3600;  // how long an acceptance keeps a credential known good
};

// Where failures are counted for a peer ("address:port"): an IPv4 address
// (IPv4-mapped IPv6 too), the /64 of an IPv6 address (one host usually
// holds a whole /64), or the peer's text as it is when it is neither.
std::string auth_source(const std::string& peer);

// Thread-safe; times are seconds on a monotonic clock, passed in so the
// counting is pure.
class AuthFailureLimiter {
 public:
  explicit AuthFailureLimiter(AuthFailureLimits limits) : limits_(limits) {}
  // 0 when a request from `source` presenting `credential` may be checked,
  // else the whole seconds until its source's window ends (Retry-After).
  int wait_s(const std::string& source, const std::string& credential, double now_s);
  // `credential` was refused: one more failure for `source`, and the
  // credential is no longer known good (a revoked key must count).
  void failed(const std::string& source, const std::string& credential, double now_s);
  // `credential` was accepted: known good for `known_good_s` from now.
  void accepted(const std::string& credential, double now_s);

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    size_t operator()(const Digest& d) const;
  };
  struct Window {
    double start = 0;
    int failures = 0;
  };
  static Digest digest(const std::string& credential);
  // The window `source` counts in: its own, the shared overflow one when the
  // table is full, or null (not tracked yet, and there is room).
  Window* find_window(const std::string& source);
  bool known_good(const Digest& d, double now_s) const;
  void make_room_for_known_good(double now_s);

  const AuthFailureLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> sources_;
  Window overflow_;                                            // every source that found the table full
  std::unordered_map<Digest, double, DigestHash> known_good_;  // hash -> remembered until
};

}  // namespace soulbox::gateway
