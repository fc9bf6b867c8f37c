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

 private:
  void heard(const std::string& node);

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_heard_;
  std::unique_ptr<bus::Subscription> subscription_;
};

}  // namespace soulbox::gateway
