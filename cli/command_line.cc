#include "cli/command_line.h"

#include <algorithm>
#include <iostream>

namespace soulbox::cli {
namespace {

// The deepest subcommand the command line got to.
CLI::App* innermost(CLI::App& app) {
  CLI::App* at = &app;
  while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
  return at;
}

// "sandbox" for `soulbox sandbox ...`: the names from the top to `at`.
std::string command_path(const CLI::App* at) {
  std::string path;
  for (; at && at->get_parent(); at = at->get_parent()) path = at->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// What `at` was missing: the unknown word, or that it needs a command.
int explain_missing_command(const CLI::App& at, const std::string& program) {
  const std::string path = command_path(&at);
  const std::string prefix = program + (path.empty() ? "" : " " + path);
  const auto rest = at.remaining();
  if (rest.empty())
    std::cerr << prefix << ": a command is required\n";
  else if (rest.front().rfind("-", 0) == 0)
    std::cerr << program << ": unknown option '" << rest.front() << "'\n";
  else
    std::cerr << program << ": unknown command '" << (path.empty() ? "" : path + " ") << rest.front() << "'\n";
  std::cerr << "Commands:\n";
  const auto subs = at.get_subcommands([](const CLI::App*) { return true; });
  size_t width = 0;
  for (const auto* sub : subs) width = std::max(width, sub->get_name().size());
  for (const auto* sub : subs)
    std::cerr << "  " << sub->get_name() << std::string(width + 2 - sub->get_name().size(), ' ')
              << sub->get_description() << "\n";
  std::cerr << "Run '" << prefix << " --help' for more.\n";
  return 2;
}

}  // namespace

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::RequiredError& e) {
    const CLI::App* at = innermost(app);
    if (at->get_require_subcommand_min() > 0 && at->get_subcommands().empty())
      return explain_missing_command(*at, program);
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
}

}  // namespace soulbox::cli
