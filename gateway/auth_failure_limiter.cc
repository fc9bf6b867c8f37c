#include "gateway/auth_failure_limiter.h"

#include <arpa/inet.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

namespace soulbox::gateway {

namespace {

// "1.2.3.4:80" -> "1.2.3.4"; "[::1]:80" and "::1:80" -> "::1"; "fe80::1%eth0:22" -> "fe80::1".
std::string address_of(const std::string& peer) {
  std::string address = peer;
  if (!address.empty() && address.front() == '[') {
    address = address.substr(1, address.find(']') - 1);
  } else if (const auto colon = address.rfind(':'); colon != std::string::npos) {
    address.resize(colon);
  }
  if (const auto scope = address.find('%'); scope != std::string::npos) address.resize(scope);
  return address;
}

}  // namespace

std::string auth_source(const std::string& peer) {
  const std::string address = address_of(peer);
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return address;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) != 1) return peer;
  char text[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    return ::inet_ntop(AF_INET, &v4, text, sizeof text);
  }
  std::memset(v6.s6_addr + 8, 0, 8);  // the /64
  return std::string(::inet_ntop(AF_INET6, &v6, text, sizeof text)) + "/64";
}

size_t AuthFailureLimiter::DigestHash::operator()(const Digest& d) const {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // a SHA-256 is already uniform
  return h;
}

AuthFailureLimiter::Digest AuthFailureLimiter::digest(const std::string& credential) {
  Digest d;
  ::SHA256(reinterpret_cast<const unsigned char*>(credential.data()), credential.size(), d.data());
  return d;
}

AuthFailureLimiter::Window* AuthFailureLimiter::find_window(const std::string& source) {
  auto it = sources_.find(source);
  if (it != sources_.end()) return &it->second;
  return sources_.size() >= limits_.max_sources ? &overflow_ : nullptr;
}

int AuthFailureLimiter::wait_s(const std::string& source, const std::string& credential, double now_s) {
  if (limits_.max_failures <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  const Window* w = find_window(source);
  if (!w || w->failures < limits_.max_failures) return 0;
  const double left = w->start + limits_.window_s - now_s;
  if (left <= 0) return 0;
  if (known_good(digest(credential), now_s)) return 0;
  return std::max(1, int(std::ceil(left)));
}

void AuthFailureLimiter::failed(const std::string& source, const std::string& credential, double now_s) {
  if (limits_.max_failures <= 0) return;
  const Digest d = digest(credential);
  std::lock_guard<std::mutex> lock(mu_);
  known_good_.erase(d);
  if (!sources_.count(source) && sources_.size() >= limits_.max_sources) {
    // Full: windows that have ended count for nothing, so they make room.
    for (auto it = sources_.begin(); it != sources_.end();)
      it = it->second.start + limits_.window_s <= now_s ? sources_.erase(it) : std::next(it);
  }
  Window* w = find_window(source);
  if (!w) w = &sources_[source];
  if (w->failures == 0 || w->start + limits_.window_s <= now_s) *w = Window{now_s, 0};
  ++w->failures;
}

void AuthFailureLimiter::accepted(const std::string& credential, double now_s) {
  if (limits_.max_failures <= 0) return;
  const Digest d = digest(credential);
  std::lock_guard<std::mutex> lock(mu_);
  if (!known_good_.count(d) && known_good_.size() >= limits_.max_known_good) make_room_for_known_good(now_s);
  known_good_[d] = now_s + limits_.known_good_s;
}

bool AuthFailureLimiter::known_good(const Digest& d, double now_s) const {
  auto it = known_good_.find(d);
  return it != known_good_.end() && it->second > now_s;
}

// Expired entries go; if none has, the one accepted longest ago.
void AuthFailureLimiter::make_room_for_known_good(double now_s) {
  for (auto it = known_good_.begin(); it != known_good_.end();)
    it = it->second <= now_s ? known_good_.erase(it) : std::next(it);
  if (known_good_.size() < limits_.max_known_good) return;
  auto oldest = std::min_element(known_good_.begin(), known_good_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
  known_good_.erase(oldest);
}

}  // namespace soulbox::gateway
