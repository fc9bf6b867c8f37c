#include "isolation/sandbox_usage.h"

#include <sstream>

#include "isolation/fs_util.h"

namespace soulbox::isolation {

NetBytes parse_net_dev(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  NetBytes total;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // a header line
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[9] = {};
    for (auto& x : v) fields >> x;
    total.rx += v[0];  // receive bytes
    total.tx += v[8];  // transmit bytes, after the 8 receive fields
  }
  return total;
}

NetBytes read_net_bytes(pid_t pid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/net/dev");
  return text ? parse_net_dev(*text) : NetBytes{};
}

Result<SandboxUsage> read_sandbox_usage(const Cgroup& cgroup, pid_t agent_pid) {
  auto counters = cgroup.usage();
  if (!counters) return counters.error();
  return SandboxUsage{*counters, read_net_bytes(agent_pid)};
}

}  // namespace soulbox::isolation
