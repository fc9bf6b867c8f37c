// soulboxd's command line (CLI11), with the defaults a single-node set-up
// needs: no flags at all gives a working node on the embedded nats-server.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "actors/node_context.h"
#include "actors/placement.h"
#include "actors/pool_actor.h"
#include "gateway/auth_failure_limiter.h"
#include "gateway/http_server.h"
#include "jobs/jobs_service.h"

namespace soulbox::daemon {

struct DaemonOptions {
  std::string data_dir = "/var/lib/soulbox";
  std::string run_dir = "/run/soulbox";
  std::string nats_url;  // empty: start the embedded nats-server
  std::string nats_user, nats_password;
  std::string cgroup_parent = "soulbox";
  std::string pool_strategy = "fixed";
  std::string placement = "bin-packing";
  uint32_t pool_min = 2, pool_max = 8;
  uint32_t code_pool_min = 0;  // warm code-interpreter-v1 sandboxes (their kernels started)
  double default_timeout_s = 300, max_lifetime_s = 86400;
  double ended_retention_s = 3600;  // records of ended sandboxes
  actors::NodeSettings node;
  int jobs_workers = 2;
  double job_ack_wait_s = 30, job_result_ttl_s = 86400, job_timeout_s = 60;
  int job_max_deliver = 5;
  std::string secrets_key;                // empty: <data>/secrets.key
  double audit_retention_every_s = 3600;  // how often tenants' audit retention is applied
  int http_port = -1;                     // the embedded gateway's port (-1: none; 0: any free one)
  std::string http_host = "127.0.0.1";
  gateway::AuthFailureLimits http_auth_failures;  // the embedded gateway's
  int http_max_connections = gateway::HttpServerOptions{}.max_connections;
  int http_max_handlers = gateway::HttpServerOptions{}.max_handler_threads;
  double memory_capacity_mib = 0;  // admission (0: the host's memory minus a reserve)
  double new_sandbox_memory_mib = 8;
  double host_memory_floor_mib = 0;  // 0: max(256 MiB, 1 % of the host's memory)
};

void add_options(CLI::App& app, DaemonOptions& o);

// Turns the parsed options into actor settings; errors name the flag.
Result<actors::PoolSettings> pool_settings(const DaemonOptions& o);
Result<actors::PlacementOptions> placement_options(const DaemonOptions& o);
Result<jobs::JobsSettings> jobs_settings(const DaemonOptions& o);
// What the node admits, capacities of 0 resolved from the host.
Result<actors::AdmissionSettings> admission_settings(const DaemonOptions& o);

// This host's name as a node id ([A-Za-z0-9_-], at most 64 characters).
std::string default_node_id();

}  // namespace soulbox::daemon
