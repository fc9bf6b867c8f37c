// Choosing a node for a new sandbox from the heartbeats (pure logic).
// Nodes are considered when healthy or degraded (short of memory, which
// the fit below judges) and heard from recently; the request must fit in
// what the node reported free minus what this scheduler has reserved on it
// since that report.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::actors {

enum class PlacementStrategy {
  bin_packing,  // the fullest node that fits: keeps others empty (for draining, scaling down)
  spread,       // the emptiest node: spreads load and blast radius
};
Result<PlacementStrategy> parse_placement_strategy(const std::string& name);

struct Reservation {
  std::string id;
  double cpus = 0;            // counted only on nodes that reserve cpus
  uint64_t memory_bytes = 0;  // what the node counts for a new sandbox
  int64_t made_unix_ms = 0;
};

struct NodeView {
  std::string name;
  std::string status;  // healthy, degraded, draining, connecting, unhealthy
  std::string region;
  std::map<std::string, std::string> labels;
  double cpu_capacity = 0, cpu_free = 0;
  bool cpus_reserved = false;  // false: the node shares its cores (cpu_free not counted)
  uint64_t memory_capacity_bytes = 0, memory_free_bytes = 0;
  // Memory the node counts for a new sandbox until it measures it (admission
  // by use); 0 from a node that counts limits: the request's memory.
  uint64_t new_sandbox_memory_bytes = 0;
  uint32_t sandboxes = 0;
  int64_t reported_unix_ms = 0;                    // when the node sent the figures
  int64_t seen_unix_ms = 0;                        // when this scheduler received them
  std::vector<Reservation> reservations;           // not yet in the node's figures
  std::vector<std::string> consumed_reservations;  // from the heartbeat: now in its figures
};

struct PlacementRequest {
  double cpus = 1;
  uint64_t memory_bytes = 512ull << 20;
  std::map<std::string, std::string> node_selector;
  std::string region;
  std::string prefer_node;
  std::string reservation_id;  // names the reservation a successful place() adds
};

// What a node takes is its own setting (docs/density.md); placement reads
// it from the heartbeats.
struct PlacementOptions {
  PlacementStrategy strategy = PlacementStrategy::bin_packing;
  int64_t stale_after_ms = 5000;  // a node silent this long is skipped
  int64_t reservation_ttl_ms = 5000;
};

// The chosen node (a reservation is added to it), or resource_exhausted
// with why no node fits; the caller should retry later.
Result<std::string> place(std::map<std::string, NodeView>& nodes, const PlacementRequest& request,
                          const PlacementOptions& options, int64_t now_unix_ms);

// Folds a heartbeat in: reservations the node confirms (its figures now
// include them) and expired ones go.
void observe(std::map<std::string, NodeView>& nodes, NodeView report, const PlacementOptions& options,
             int64_t now_unix_ms);

}  // namespace soulbox::actors
