#include "bench/stats.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

namespace soulbox::bench {

Summary summarize(std::vector<double> s) {
  Summary out;
  if (s.empty()) return out;
  std::sort(s.begin(), s.end());
  auto at = [&](double q) { return s[std::min(s.size() - 1, size_t(q * double(s.size() - 1) + 0.5))]; };
  out.n = s.size();
  out.p50 = at(0.50);
  out.p90 = at(0.90);
  out.p99 = at(0.99);
  out.max = s.back();
  return out;
}

double now_us() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) / 1e3;
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace soulbox::bench
