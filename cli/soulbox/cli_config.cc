#include "cli/soulbox/cli_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace soulbox::cli {

std::string default_config_path() {
  if (const char* p = std::getenv("SOULBOX_CONFIG"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.config/soulbox/config.json";
}

Result<ApiConfig> load_config(const std::string& path) {
  ApiConfig c;
  std::ifstream in(path);
  if (in) {
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Error{ErrorCode::invalid_argument, path + " is not a JSON object (run `soulbox init` to rewrite it)"};
    c.api_url = j.value("api_url", c.api_url);
    c.api_key = j.value("api_key", c.api_key);
  }
  for (const char* name : {"E2B_API_URL", "SOULBOX_API_URL"})
    if (const char* v = std::getenv(name); v && *v) c.api_url = v;
  for (const char* name : {"E2B_API_KEY", "SOULBOX_API_KEY"})
    if (const char* v = std::getenv(name); v && *v) c.api_key = v;
  return c;
}

Status save_config(const std::string& path, const ApiConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Error{ErrorCode::permission_denied, "cannot write " + tmp};
    ::chmod(tmp.c_str(), 0600);
    out << nlohmann::json{{"api_url", config.api_url}, {"api_key", config.api_key}}.dump(2) << "\n";
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Error{ErrorCode::internal, "cannot replace " + path};
  return {};
}

std::string masked(const std::string& key) {
  const auto second = key.find('_', 3);
  if (key.rfind("sb_", 0) != 0 || second == std::string::npos) return key.empty() ? "(none)" : "****";
  return key.substr(0, second + 1) + "****";
}

}  // namespace soulbox::cli
