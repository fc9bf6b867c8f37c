#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace soulbox {
namespace {

spdlog::level::level_enum level_from_env() {
  const char* v = std::getenv("SOULBOX_LOG");
  return v ? spdlog::level::from_str(v) : spdlog::level::warn;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const char* component) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto created = spdlog::stderr_color_mt(component);
  created->set_pattern("%^[%H:%M:%S.%e] [%n] [%l]%$ %v");
  created->set_level(level_from_env());
  return created;
}

}  // namespace soulbox
