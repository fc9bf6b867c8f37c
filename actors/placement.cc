#include "actors/placement.h"

#include <algorithm>

namespace soulbox::actors {
namespace {

struct Free {
  double cpus;
  uint64_t memory;
};

Free free_after_reservations(const NodeView& n, const PlacementOptions& o, int64_t now) {
  Free f{n.cpu_free, n.memory_free_bytes};
  for (const auto& r : n.reservations) {
    if (now - r.made_unix_ms > o.reservation_ttl_ms) continue;
    f.cpus -= r.cpus;
    f.memory = f.memory > r.memory_bytes ? f.memory - r.memory_bytes : 0;
  }
  return f;
}

bool matches(const NodeView& n, const PlacementRequest& r) {
  if (!r.region.empty() && n.region != r.region) return false;
  for (const auto& [k, v] : r.node_selector) {
    auto it = n.labels.find(k);
    if (it == n.labels.end() || it->second != v) return false;
  }
  return true;
}

// What the node counts for the request.
uint64_t memory_needed(const NodeView& n, const PlacementRequest& r) {
  return n.new_sandbox_memory_bytes ? n.new_sandbox_memory_bytes : r.memory_bytes;
}

bool fits(const NodeView& n, const Free& f, const PlacementRequest& r) {
  if (r.memory_bytes > n.memory_capacity_bytes || f.memory < memory_needed(n, r)) return false;
  return !n.cpus_reserved || f.cpus + 1e-9 >= r.cpus;
}

// Fraction of memory in use after placing the request (0 empty .. 1 full).
double load_after(const NodeView& n, const Free& f, const PlacementRequest& r) {
  if (n.memory_capacity_bytes == 0) return 1;
  return 1.0 - double(f.memory - memory_needed(n, r)) / double(n.memory_capacity_bytes);
}

}  // namespace

Result<PlacementStrategy> parse_placement_strategy(const std::string& name) {
  if (name == "bin-packing" || name == "binpack") return PlacementStrategy::bin_packing;
  if (name == "spread") return PlacementStrategy::spread;
  return Error{ErrorCode::invalid_argument, "placement strategy must be bin-packing or spread, got '" + name + "'"};
}

Result<std::string> place(std::map<std::string, NodeView>& nodes, const PlacementRequest& request,
                          const PlacementOptions& options, int64_t now) {
  NodeView* best = nullptr;
  double best_load = 0;
  size_t fresh = 0, healthy = 0, eligible = 0;
  for (auto& [name, n] : nodes) {
    if (now - n.seen_unix_ms > options.stale_after_ms) continue;
    ++fresh;
    if (n.status != "healthy" && n.status != "degraded") continue;
    ++healthy;
    if (!matches(n, request)) continue;
    ++eligible;
    const Free f = free_after_reservations(n, options, now);
    if (!fits(n, f, request)) continue;
    const double load = load_after(n, f, request);
    if (name == request.prefer_node) {
      best = &n;
      break;
    }
    const bool better =
        !best || (options.strategy == PlacementStrategy::bin_packing ? load > best_load : load < best_load);
    if (better) {
      best = &n;
      best_load = load;
    }
  }
  if (!best)
    return Error{ErrorCode::resource_exhausted,
                 "no node can take the sandbox now (" + std::to_string(nodes.size()) + " known, " +
                     std::to_string(fresh) + " reporting, " + std::to_string(healthy) + " taking sandboxes, " +
                     std::to_string(eligible) + " matching the constraints, none with room for it); retry later"};
  best->reservations.push_back(Reservation{request.reservation_id, request.cpus, memory_needed(*best, request), now});
  return best->name;
}

void observe(std::map<std::string, NodeView>& nodes, NodeView report, const PlacementOptions& options, int64_t now) {
  report.seen_unix_ms = now;
  auto it = nodes.find(report.name);
  if (it != nodes.end()) {
    for (const auto& r : it->second.reservations) {
      const bool consumed = std::find(report.consumed_reservations.begin(), report.consumed_reservations.end(), r.id) !=
                            report.consumed_reservations.end();
      if (!consumed && now - r.made_unix_ms <= options.reservation_ttl_ms) report.reservations.push_back(r);
    }
  }
  nodes[report.name] = std::move(report);
}

}  // namespace soulbox::actors
