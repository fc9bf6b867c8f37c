#include "cli/soulbox/progress_bar.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

namespace soulbox::cli {

Progress progress_bar(const std::string& label, bool enabled) {
  if (!enabled || !::isatty(2)) return {};
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [label, last](uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const bool finished = total && done >= total;
    if (!finished && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    const double mib = double(done) / (1 << 20);
    if (total) {
      const int width = 30, filled = int(double(width) * double(done) / double(total));
      std::fprintf(stderr, "\r%s [%s%s] %3d%% %.1f/%.1f MiB", label.c_str(), std::string(size_t(filled), '#').c_str(),
                   std::string(size_t(width - filled), ' ').c_str(), int(100.0 * double(done) / double(total)), mib,
                   double(total) / (1 << 20));
    } else {
      std::fprintf(stderr, "\r%s %.1f MiB", label.c_str(), mib);
    }
    if (finished) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

}  // namespace soulbox::cli
