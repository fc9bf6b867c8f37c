#include "gateway/node_directory.h"

#include "bus/subjects.h"

namespace soulbox::gateway {

Result<std::unique_ptr<NodeDirectory>> NodeDirectory::start(bus::Connection& bus) {
  auto dir = std::make_unique<NodeDirectory>();
  NodeDirectory* self = dir.get();
  auto sub = bus.subscribe(bus::subjects::node_heartbeats(), "", [self](bus::Message m) {
    // The subject names the node; the body is not needed to know it is alive.
    self->heard(bus::subjects::last_token(m.subject));
  });
  if (!sub) return sub.error();
  dir->subscription_ = std::move(*sub);
  return dir;
}

void NodeDirectory::heard(const std::string& node) {
  if (bus::subjects::check_token("node", node)) {
    std::lock_guard<std::mutex> lock(mu_);
    last_heard_[node] = std::chrono::steady_clock::now();
  }
  changed_.notify_all();
}

std::vector<std::string> NodeDirectory::nodes(int wait_ms, int64_t fresh_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  auto fresh = [&] {
    std::vector<std::string> out;
    for (const auto& [node, at] : last_heard_)
      if (std::chrono::steady_clock::now() - at < std::chrono::milliseconds(fresh_ms)) out.push_back(node);
    return out;
  };
  auto out = fresh();
  if (out.empty())
    changed_.wait_until(lock, now + std::chrono::milliseconds(wait_ms), [&] { return !fresh().empty(); });
  return fresh();
}

}  // namespace soulbox::gateway
