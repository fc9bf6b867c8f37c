#include "daemon/daemon_options.h"

#include <unistd.h>

#include <climits>

#include "bus/subjects.h"

namespace soulbox::daemon {

std::string default_node_id() {
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  std::string id;
  for (const char* p = host; *p && id.size() < 64; ++p) {
    const char c = *p;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    id += ok ? c : '-';
  }
  return id.empty() ? "node1" : id;
}

void add_options(CLI::App& app, DaemonOptions& o) {
  o.node.node_id = default_node_id();
  app.add_option("--data-dir", o.data_dir, "State: RocksDB, templates, the embedded nats-server")
      ->capture_default_str();
  app.add_option("--run-dir", o.run_dir, "Runtime files (id-slot leases)")->capture_default_str();
  app.add_option("--nats", o.nats_url, "Join this NATS server or cluster instead of starting one (nats://host:port)");
  app.add_option("--nats-user", o.nats_user, "User for --nats");
  app.add_option("--nats-password", o.nats_password, "Password for --nats (or $SOULBOX_NATS_PASSWORD)")
      ->envname("SOULBOX_NATS_PASSWORD");
  app.add_option("--node-id", o.node.node_id, "This node's name on the bus")->capture_default_str();
  app.add_option("--region", o.node.region, "Region label used by placement")->capture_default_str();
  app.add_option("--cgroup-parent", o.cgroup_parent, "cgroup under which sandboxes live")->capture_default_str();
  app.add_option("--pool-min", o.pool_min, "Warm sandboxes kept per template")->capture_default_str();
  app.add_option("--pool-max", o.pool_max, "Most warm sandboxes per template")->capture_default_str();
  app.add_option("--pool-strategy", o.pool_strategy, "fixed, historical or dynamic")->capture_default_str();
  app.add_option("--placement", o.placement, "bin-packing or spread")->capture_default_str();
  app.add_option("--default-timeout", o.default_timeout_s, "Sandbox lifetime when a create names none (s)")
      ->capture_default_str();
  app.add_option("--max-lifetime", o.max_lifetime_s, "No refresh extends a sandbox past this (s)")
      ->capture_default_str();
  app.add_option("--cpu-capacity", o.node.cpu_capacity, "Cores offered to sandboxes (0: all)")->capture_default_str();
}

Result<actors::PoolSettings> pool_settings(const DaemonOptions& o) {
  auto strategy = actors::parse_pool_strategy(o.pool_strategy);
  if (!strategy) return Error{ErrorCode::invalid_argument, "--pool-strategy: " + strategy.error().message};
  if (o.pool_min > o.pool_max) return Error{ErrorCode::invalid_argument, "--pool-min must not exceed --pool-max"};
  if (o.pool_max > 256) return Error{ErrorCode::invalid_argument, "--pool-max must be at most 256"};
  actors::PoolSettings s;
  actors::PoolConfig base;
  base.strategy = *strategy;
  base.min_warm = o.pool_min;
  base.max_size = o.pool_max;
  s.pools.push_back(base);
  return s;
}

Result<actors::PlacementOptions> placement_options(const DaemonOptions& o) {
  auto strategy = actors::parse_placement_strategy(o.placement);
  if (!strategy) return Error{ErrorCode::invalid_argument, "--placement: " + strategy.error().message};
  actors::PlacementOptions p;
  p.strategy = *strategy;
  return p;
}

}  // namespace soulbox::daemon
