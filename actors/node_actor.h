// The node: serves sb.v1.node.<node>.* (create, health, list, pool),
// spawns one sandbox actor per sandbox, publishes its heartbeat every
// second (after main sends the first beat_atom), and ends every sandbox with reason "node shutdown" when it exits.
#pragma once
#include <caf/all.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "actors/messages.h"
#include "actors/node_context.h"
#include "actors/pool_actor.h"
#include "isolation/host_limits.h"

namespace soulbox::actors {

struct Reserved {
  double cpus = 0;
  uint64_t memory_bytes = 0;
};

struct NodeActorState {
  std::shared_ptr<NodeContext> ctx;
  caf::actor pool;
  std::map<std::string, caf::actor> sandboxes;
  std::map<std::string, Reserved> reserved;        // what each sandbox counts in admission
  std::vector<std::string> consumed_reservations;  // for the next heartbeat
  bool confirm_scheduled = false;
  std::set<std::string> creating;   // create request keys in flight
  AdmissionSettings admits;         // capacities resolved
  isolation::DensityLimit density;  // the host limit that caps this node's sandboxes (docs/density.md)
  uint64_t heartbeats = 0;
  std::string status = "healthy";
  bool draining = false;
  uint64_t audit_count = 0;
  static inline const char* name = "node";
};

caf::behavior node_actor(caf::stateful_actor<NodeActorState>* self, std::shared_ptr<NodeContext> ctx, caf::actor pool);

extern const char* const kSoulboxVersion;

}  // namespace soulbox::actors
