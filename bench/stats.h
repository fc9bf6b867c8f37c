// Percentiles over a set of samples, in microseconds.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace soulbox::bench {

struct Summary {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Summary summarize(std::vector<double> samples_us);
double now_us();
std::string fmt(double v, int decimals = 0);

}  // namespace soulbox::bench
