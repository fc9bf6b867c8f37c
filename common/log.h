// One named spdlog logger per component ("isolation", "agent-client", ...).
#pragma once
#include <spdlog/spdlog.h>

#include <memory>

namespace soulbox {

std::shared_ptr<spdlog::logger> logger(const char* component);

// Sets the level of every SoulBox logger (SOULBOX_LOG=debug|info|warn|error
// is read once at first use).
void set_log_level(spdlog::level::level_enum level);

}  // namespace soulbox
