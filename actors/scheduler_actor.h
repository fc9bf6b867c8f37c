// The scheduler: folds the nodes' heartbeats (sb.v1.nodes.hb.*) into a
// registry and answers placement requests (sb.v1.sched.place, queue group
// "schedulers", so any number of nodes can run one).
#pragma once
#include <caf/all.hpp>
#include <map>
#include <memory>

#include "actors/messages.h"
#include "actors/node_context.h"
#include "actors/placement.h"

namespace soulbox::actors {

struct SchedulerActorState {
  std::shared_ptr<NodeContext> ctx;
  PlacementOptions options;
  std::map<std::string, NodeView> nodes;
  static inline const char* name = "scheduler";
};

// (stats_atom) -> uint64_t: nodes known.
caf::behavior scheduler_actor(caf::stateful_actor<SchedulerActorState>* self, std::shared_ptr<NodeContext> ctx,
                              PlacementOptions options);

// Subscribes the scheduler to its subjects (and flushes), from outside the
// actor so the caller knows it is live.
Status subscribe_scheduler(caf::actor scheduler, NodeContext& ctx,
                           std::vector<std::unique_ptr<bus::Subscription>>& out);

}  // namespace soulbox::actors
