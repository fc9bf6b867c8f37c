// Where a benchmark runs: the build directory it was built in (soulboxd
// and friends sit there) and a fresh working directory of its own.
#pragma once
#include <string>

namespace soulbox::bench {

// The build directory: the parent of the directory holding this executable.
std::string build_dir();
// `root` emptied and made again (mode 0755, so sandboxes can traverse it).
void fresh_root(const std::string& root);

}  // namespace soulbox::bench
