// One named spdlog logger per component ("isolation", "bus", ...); the level
// comes from SOULBOX_LOG=debug|info|warn|error (default warn).
#pragma once
#include <spdlog/spdlog.h>

#include <memory>

namespace soulbox {

std::shared_ptr<spdlog::logger> logger(const char* component);

}  // namespace soulbox
