// The two directions of `soulbox cp` (copy_command.cc picks one). Both copy
// a symlink as a symlink or not at all, never what it points at, and both
// refuse any path that would leave the destination (copy_paths.h).
#pragma once
#include <string>

#include "cli/soulbox/commands.h"
#include "cli/soulbox/copy_paths.h"

namespace soulbox::cli {

// This machine's `from` to the sandbox.
int copy_up(Context& c, const std::string& from, const Remote& to, bool recursive, bool progress);
// The sandbox's `from` to this machine.
int copy_down(Context& c, const Remote& from, const std::string& to, bool recursive, bool progress);

}  // namespace soulbox::cli
