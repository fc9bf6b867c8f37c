// Where the CLI finds SoulBox: a JSON file (--config, else
// $SOULBOX_CONFIG, else ~/.config/soulbox/config.json) under environment
// overrides (SOULBOX_API_URL / E2B_API_URL, SOULBOX_API_KEY / E2B_API_KEY).
#pragma once
#include <string>

#include "cli/soulbox/api_client.h"
#include "common/result.h"

namespace soulbox::cli {

std::string default_config_path();
// The file's settings (missing file: defaults) with the environment over them.
Result<ApiConfig> load_config(const std::string& path);
// Written 0600 (it holds the key), its directory created.
Status save_config(const std::string& path, const ApiConfig& config);
// "sb_abc_****" — enough to tell keys apart, not to use one.
std::string masked(const std::string& key);

}  // namespace soulbox::cli
