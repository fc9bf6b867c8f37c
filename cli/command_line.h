// Parsing a CLI's command line with CLI11, in words for the two mistakes
// CLI11 answers alike ("A subcommand is required"): no command at all, and
// a command that does not exist (a typo). Both now say which, list the
// commands there are, and end with status 2.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace soulbox::cli {

// Parses into `app`; nothing when the program should go on, else the exit
// status to end with (after --help, --version, or an error it printed).
// `program` names the binary in messages ("soulbox").
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const std::string& program);

}  // namespace soulbox::cli
