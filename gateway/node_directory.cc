#include "gateway/node_directory.h"

#include "bus/subjects.h"
#include "messages/bus_codec.h"

namespace soulbox::gateway {

Result<std::unique_ptr<NodeDirectory>> NodeDirectory::start(bus::Connection& bus) {
  auto dir = std::make_unique<NodeDirectory>();
  NodeDirectory* self = dir.get();
  auto sub = bus.subscribe(bus::subjects::node_heartbeats(), "", [self](bus::Message m) {
    auto env = busproto::open_envelope(m.data);
    if (!env || (*env)->body_type() != busproto::Body::NodeHealth) return;
    self->heard(bus::subjects::last_token(m.subject), (*env)->body_as_NodeHealth()->sandboxes());
  });
  if (!sub) return sub.error();
  dir->subscription_ = std::move(*sub);
  return dir;
}

void NodeDirectory::heard(const std::string& node, uint32_t sandboxes) {
  if (bus::subjects::check_token("node", node)) {
    std::lock_guard<std::mutex> lock(mu_);
    last_heard_[node] = Heard{std::chrono::steady_clock::now(), sandboxes};
  }
  changed_.notify_all();
}

std::vector<std::string> NodeDirectory::nodes(int wait_ms, int64_t fresh_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  auto fresh = [&] {
    std::vector<std::string> out;
    for (const auto& [node, heard] : last_heard_)
      if (std::chrono::steady_clock::now() - heard.at < std::chrono::milliseconds(fresh_ms)) out.push_back(node);
    return out;
  };
  auto out = fresh();
  if (out.empty())
    changed_.wait_until(lock, now + std::chrono::milliseconds(wait_ms), [&] { return !fresh().empty(); });
  return fresh();
}

uint64_t NodeDirectory::sandboxes(int64_t fresh_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [node, heard] : last_heard_)
    if (std::chrono::steady_clock::now() - heard.at < std::chrono::milliseconds(fresh_ms)) total += heard.sandboxes;
  return total;
}

}  // namespace soulbox::gateway
