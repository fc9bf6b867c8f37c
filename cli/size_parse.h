// "512M", "1.5G", "64k", "4096" -> bytes (binary units).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace soulbox::cli {

std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace soulbox::cli
