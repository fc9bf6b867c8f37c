// What every actor of a node shares: the bus connection, the launcher, the
// store and the agent reader, all thread-safe, owned by main() and alive
// until every actor has exited.
#pragma once
#include <atomic>
#include <caf/all.hpp>
#include <cstdint>
#include <string>

#include "actors/agent_io.h"
#include "actors/node_admission.h"
#include "bus/connection.h"
#include "common/wall_clock.h"
#include "isolation/cgroup.h"
#include "isolation/host_limits.h"
#include "isolation/launcher_service.h"
#include "storage/store.h"
#include "tenants/tenant_service.h"

namespace soulbox::actors {

struct NodeSettings {
  std::string node_id = "node1";
  std::string region = "local";
  uint64_t default_timeout_ms = 300000;  // E2B's default sandbox lifetime: 5 min
  uint64_t max_lifetime_ms = 86400000;   // refresh never goes past 24 h from creation
  int metrics_interval_ms = 1000;
  size_t metrics_keep = 3600;  // samples per sandbox
  // How long the records of ended sandboxes are kept (actors/ended_records.h).
  int64_t ended_retention_ms = 3600000;
  // Capacities of 0 are resolved at start (resolve_admission): all online
  // cores; the host's memory minus a reserve.
  AdmissionSettings admission;
};

struct NodeContext {
  NodeSettings settings;
  bus::Connection* bus = nullptr;
  isolation::LauncherClient* launcher = nullptr;
  storage::Store* store = nullptr;
  AgentIo* agent_io = nullptr;
  // The sandboxes' cgroups, read and frozen from here: the launcher is kept
  // for what must be serialised (create, destroy).
  isolation::CgroupDriver* cgroups = nullptr;
  // Receives (audit_atom, audit::Event); empty when nothing is audited (tests).
  // main() drops it before the actor system goes.
  caf::actor audit;
  // Quotas (tenants with a record on SB_EVENTS); nullptr: none enforced.
  tenants::TenantService* tenants = nullptr;
  // Whether the node takes another sandbox (node and pool actors); nullptr:
  // every create is taken (actor tests).
  NodeAdmission* admission = nullptr;
  // The host limit that caps how many sandboxes this node holds, measured at
  // start-up (isolation/host_limits.h); unlimited unless main sets it.
  isolation::DensityLimit density;
  std::atomic<uint64_t> bad_messages{0};  // malformed or unverifiable bus messages
};

}  // namespace soulbox::actors
