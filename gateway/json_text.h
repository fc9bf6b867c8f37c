// JSON text as the gateway sends it: file names, process output and
// whatever clients send may hold any bytes, so invalid UTF-8 is replaced
// (U+FFFD) instead of making nlohmann throw (which would turn bad input into
// a 500).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace soulbox::gateway {

inline std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace soulbox::gateway
