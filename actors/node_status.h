// A node's status in its heartbeat (pure logic, unit-tested).
#pragma once
#include <cstdint>
#include <string>

namespace soulbox::actors {

struct NodeSignals {
  bool draining = false;       // shutting down: takes no new sandboxes
  bool launcher_alive = true;  // without it nothing can be created
  bool bus_connected = true;
  uint64_t memory_capacity_bytes = 0;
  uint64_t memory_free_bytes = 0;
};

// draining > unhealthy (no launcher) > connecting (bus down) > degraded
// (under 10 % of memory free) > healthy. Schedulers place only on healthy.
std::string node_status(const NodeSignals& s);

}  // namespace soulbox::actors
