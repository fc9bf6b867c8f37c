#include "bus/handler_guard.h"

#include <atomic>

#include "common/log.h"

namespace soulbox::bus {
namespace {
std::atomic<uint64_t> g_failed{0};
}  // namespace

void report_failed_handler(const std::string& subject, uint64_t seq, const char* what) noexcept {
  ++g_failed;
  try {
    logger("bus")->error("message on {} (stream sequence {}) skipped: its handler failed: {}", subject, seq, what);
  } catch (...) {  // logging itself failed: the count still says so
  }
}

uint64_t failed_handlers() {
  return g_failed.load();
}

}  // namespace soulbox::bus
