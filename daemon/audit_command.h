// `soulboxd audit ...`. export and verify read this node's audit records
// (from RocksDB, opened read-only so a running daemon is not disturbed, or
// from an exported JSON-lines file) and check them against the node's key
// and its newest checkpoint; replay and usage read every node's records
// from the bus (daemon/audit_replay_command.h).
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
  // replay and usage: the bus (empty: the ready file in data_dir).
  std::string nats_url, nats_user, nats_password;
  std::string secrets_key;  // replay: the cluster's key (default <data-dir>/secrets.key)
  CLI::App* replay = nullptr;
  CLI::App* usage = nullptr;
  // usage: the period (0: the 24 hours before now), prices, one tenant.
  int64_t from_ms = 0, to_ms = 0;
  double price_cpu_hour = 0, price_gib_hour = 0, price_sandbox = 0;
  std::string tenant;
  // query and report: filters (usage shares the period and tenant), output.
  CLI::App* query = nullptr;
  CLI::App* report = nullptr;
  std::string principal, action, resource, format = "json";
  size_t limit = 0;
  bool redact = false;
};

void add_audit_commands(CLI::App& app, AuditCommand& cmd);
// Runs the chosen subcommand; the process exit status.
int run_audit_command(const AuditCommand& cmd);

}  // namespace soulbox::daemon
