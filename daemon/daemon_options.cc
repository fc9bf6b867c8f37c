#include "daemon/daemon_options.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "actors/template_catalog.h"
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
  app.add_option("--http-port", o.http_port,
                 "Serve E2B's HTTP API from inside this daemon on this port (-1: no; soulbox-gateway runs apart)")
      ->capture_default_str();
  app.add_option("--http-host", o.http_host, "Listen address of --http-port")->capture_default_str();
  app.add_option("--http-auth-failure-limit", o.http_auth_failures.max_failures,
                 "--http-port: failed authentications per source (IPv4 address, IPv6 /64) and window before 429 "
                 "(0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--http-auth-failure-window", o.http_auth_failures.window_s,
                 "--http-port: that window (s); a source past the limit waits until it ends")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--http-max-connections", o.http_max_connections,
                 "--http-port: open connections at most (more get 503 with Retry-After), and at most 3/4 of "
                 "the open-files limit")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--http-max-handlers", o.http_max_handlers,
                 "--http-port: requests handled at once, streams included (each holds a thread while it runs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--pool-min", o.pool_min, "Warm sandboxes kept per template")->capture_default_str();
  app.add_option("--pool-max", o.pool_max, "Most warm sandboxes per template")->capture_default_str();
  app.add_option("--code-pool-min", o.code_pool_min,
                 "Warm code-interpreter-v1 sandboxes kept, their Python and JavaScript contexts started")
      ->capture_default_str();
  app.add_option("--pool-strategy", o.pool_strategy, "fixed, historical or dynamic")->capture_default_str();
  app.add_option("--placement", o.placement, "bin-packing or spread")->capture_default_str();
  app.add_option("--default-timeout", o.default_timeout_s, "Sandbox lifetime when a create names none (s)")
      ->capture_default_str();
  app.add_option("--max-lifetime", o.max_lifetime_s, "No refresh extends a sandbox past this (s)")
      ->capture_default_str();
  app.add_option("--ended-sandbox-retention", o.ended_retention_s,
                 "How long (s) an ended sandbox's record stays (list --state terminated, repeated creates)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  // Admission (docs/density.md): by the memory sandboxes really use.
  app.add_option("--memory-capacity", o.memory_capacity_mib,
                 "MiB the sandboxes may use together; their parent cgroup is capped at it (0: the host's memory "
                 "minus max(1 GiB, 5 %))")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--new-sandbox-memory", o.new_sandbox_memory_mib,
                 "MiB a new sandbox counts until the next measurement of what sandboxes use")
      ->check(CLI::Range(1.0, 1048576.0))
      ->capture_default_str();
  app.add_option("--host-memory-floor", o.host_memory_floor_mib,
                 "MiB of the host's available memory (MemAvailable) no sandbox is admitted into (0: max(256 MiB, "
                 "1 %))")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--memory-overcommit", o.node.admission.memory_overcommit,
                 "The sandboxes' memory limits may add up to this many times the capacity (0: limits not counted)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--cpu-capacity", o.node.admission.cpu_capacity, "Cores offered to sandboxes (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--cpu-overcommit", o.node.admission.cpu_overcommit,
                 "The sandboxes' cpus may add up to this many times the cores (0: CPU is not reserved; each "
                 "sandbox's quota still caps it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--jobs-workers", o.jobs_workers, "Jobs from SB_JOBS run at once on this node (0: none)")
      ->capture_default_str();
  app.add_option("--job-ack-wait", o.job_ack_wait_s, "A job silent this long (s) is delivered again")
      ->capture_default_str();
  app.add_option("--job-max-deliver", o.job_max_deliver, "Deliveries before a job goes to the dead-letter subject")
      ->capture_default_str();
  app.add_option("--job-result-ttl", o.job_result_ttl_s, "How long (s) job results are kept")->capture_default_str();
  app.add_option("--secrets-key", o.secrets_key,
                 "32-byte key file sealing tenant secrets (the same on every node; default <data>/secrets.key)");
  app.add_option("--job-timeout", o.job_timeout_s, "Run time (s) of a job that names none")->capture_default_str();
  app.add_option("--audit-retention-every", o.audit_retention_every_s,
                 "How often (s) audit events older than their tenant's retention lose their content")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
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
  if (o.code_pool_min > 256) return Error{ErrorCode::invalid_argument, "--code-pool-min must be at most 256"};
  if (o.code_pool_min > 0) {  // each holds Python's data stack in memory: kept only when asked for
    actors::PoolConfig code = base;
    code.template_name = actors::kCodeInterpreterTemplate;
    code.min_warm = o.code_pool_min;
    code.max_size = std::max(o.code_pool_min, o.pool_max);
    s.pools.push_back(code);
  }
  return s;
}

Result<actors::AdmissionSettings> admission_settings(const DaemonOptions& o) {
  actors::AdmissionSettings s = o.node.admission;
  s.node_id = o.node.node_id;
  s.memory_capacity_bytes = uint64_t(o.memory_capacity_mib * double(1 << 20));
  s.new_sandbox_memory_bytes = uint64_t(o.new_sandbox_memory_mib * double(1 << 20));
  s.host_memory_floor_bytes = uint64_t(o.host_memory_floor_mib * double(1 << 20));
  s = actors::resolve_admission(s);
  if (s.new_sandbox_memory_bytes > s.memory_capacity_bytes)
    return Error{ErrorCode::invalid_argument, "--new-sandbox-memory is larger than the memory capacity"};
  return s;
}

Result<jobs::JobsSettings> jobs_settings(const DaemonOptions& o) {
  if (o.jobs_workers < 0 || o.jobs_workers > 256) return Error{ErrorCode::invalid_argument, "--jobs-workers: 0-256"};
  if (o.job_max_deliver < 2) return Error{ErrorCode::invalid_argument, "--job-max-deliver must be at least 2"};
  if (o.job_ack_wait_s < 1) return Error{ErrorCode::invalid_argument, "--job-ack-wait must be at least 1 s"};
  jobs::JobsSettings s;
  s.node_id = o.node.node_id;
  s.workers = o.jobs_workers;
  s.ack_wait_ms = int64_t(o.job_ack_wait_s * 1000);
  s.max_deliver = o.job_max_deliver;
  s.result_ttl_ms = int64_t(o.job_result_ttl_s * 1000);
  s.runner.default_timeout_ms = uint32_t(o.job_timeout_s * 1000);
  // Tell JetStream we are alive well within its ack wait.
  s.runner.keepalive_ms = int(std::max<int64_t>(200, s.ack_wait_ms / 3));
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
