// The nodes alive now, from their heartbeats (sb.v1.nodes.hb.*): what the
// gateway asks when a request spans nodes (listing sandboxes) and what
// /health reports. Soft state only: a restarted gateway knows them again
// within one heartbeat.
#pragma once
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/connection.h"
#include "common/result.h"

namespace soulbox::gateway {

class NodeDirectory {
 public:
  static Result<std::unique_ptr<NodeDirectory>> start(bus::Connection& bus);
  // Nodes heard from within `fresh_ms`; waits up to `wait_ms` for a first one.
  std::vector<std::string> nodes(int wait_ms = 1500, int64_t fresh_ms = 5000);
  // Sandboxes on the live nodes, as their last heartbeats said.
  uint64_t sandboxes(int64_t fresh_ms = 5000);

 private:
  struct Heard {
    std::chrono::steady_clock::time_point at;
    uint32_t sandboxes = 0;
  };
  void heard(const std::string& node, uint32_t sandboxes);

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Heard> last_heard_;
  std::unique_ptr<bus::Subscription> subscription_;
};

}  // namespace soulbox::gateway
