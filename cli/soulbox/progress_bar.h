// A progress bar on stderr for uploads and downloads, drawn only when
// stderr is a terminal (and at most ten times a second).
#pragma once
#include <string>

#include "cli/soulbox/api_client.h"

namespace soulbox::cli {

Progress progress_bar(const std::string& label, bool enabled);

}  // namespace soulbox::cli
