#include "actors/node_status.h"

namespace soulbox::actors {

std::string node_status(const NodeSignals& s) {
  if (s.draining) return "draining";
  if (!s.launcher_alive) return "unhealthy";
  if (!s.bus_connected) return "connecting";
  if (s.memory_capacity_bytes && s.memory_free_bytes * 10 < s.memory_capacity_bytes) return "degraded";
  return "healthy";
}

}  // namespace soulbox::actors
