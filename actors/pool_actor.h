// Warm sandboxes per template, created ahead (cgroup attached, network
// namespace set, agent up) so that acquiring one is a pop from a queue.
// A request whose limits differ from the pool's creates a sandbox cold.
// Refills run one create per message so acquires are never stuck behind a
// whole refill.
#pragma once
#include <caf/all.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "actors/messages.h"
#include "actors/node_context.h"
#include "actors/pool_policy.h"
#include "isolation/sandbox_spec.h"

namespace soulbox::actors {

struct AcquireRequest {
  std::string template_name = "base";
  uint64_t memory_bytes = 0;  // 0: the pool's
  double cpus = 0;
  uint32_t pids = 0;
  uint64_t disk_bytes = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AcquireRequest& x) {
  return f(caf::meta::type_name("AcquireRequest"), x.template_name, x.memory_bytes, x.cpus, x.pids, x.disk_bytes);
}

struct AcquireResult {
  SandboxHandle handle;  // empty box on failure
  bool pool_hit = false;
  isolation::Limits limits;  // what the sandbox got
  uint16_t code = 0;         // soulbox::ErrorCode on failure
  std::string message;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AcquireResult& x) {
  return f(caf::meta::type_name("AcquireResult"), x.handle, x.pool_hit, x.code, x.message);
}

struct PoolSettings {
  std::vector<PoolConfig> pools;  // one per pooled template
  isolation::Limits limits;       // of warm sandboxes (and the default of cold ones)
  int refill_interval_ms = 1000;
  bool creator_thread = true;  // false: the creator runs on the actor scheduler (deterministic tests)
};

struct PoolTemplate {
  PoolConfig config;
  std::deque<SandboxHandle> warm;
  PoolDemand demand;
  uint64_t hits = 0, misses = 0, discarded = 0;
  std::deque<double> acquire_us;  // the last 1000 acquire latencies inside the daemon
};

struct PoolActorState {
  std::shared_ptr<NodeContext> ctx;
  PoolSettings settings;
  std::vector<PoolTemplate> templates;
  caf::actor creator;  // does the blocking launcher calls, so acquires never wait behind a create
  bool refill_queued = false;
  bool refill_in_flight = false;
  bool held_back = false;  // admission keeps the node's last memory for user creates (logged once)
  static inline const char* name = "pool";
};

// Blocking launcher calls on a thread of their own (spawn it detached):
// (make_atom, AcquireRequest) -> AcquireResult, (destroy_atom, id).
caf::behavior creator_actor(caf::event_based_actor* self, std::shared_ptr<NodeContext> ctx, isolation::Limits defaults);

// (acquire_atom, AcquireRequest) -> AcquireResult
// (stats_atom, request_id) -> std::string (a Reply with PoolStats)
caf::behavior pool_actor(caf::stateful_actor<PoolActorState>* self, std::shared_ptr<NodeContext> ctx,
                         PoolSettings settings);

}  // namespace soulbox::actors
