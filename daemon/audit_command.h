// `soulboxd audit export` and `soulboxd audit verify`: read this node's
// audit records (from RocksDB, opened read-only so a running daemon is not
// disturbed, or from an exported JSON-lines file) and check them against
// the node's key and its newest checkpoint.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace soulbox::daemon {

struct AuditCommand {
  std::string data_dir = "/var/lib/soulbox";
  std::string file;  // verify: a JSON-lines export instead of the store
  std::string out = "-";
  CLI::App* verify = nullptr;
  CLI::App* export_ = nullptr;
};

void add_audit_commands(CLI::App& app, AuditCommand& cmd);
// Runs the chosen subcommand; the process exit status.
int run_audit_command(const AuditCommand& cmd);

}  // namespace soulbox::daemon
