// What a sandbox uses, as its metrics sample it: its cgroup's counters and
// the traffic of its network namespace (the agent's /proc/<pid>/net/dev).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "isolation/cgroup.h"

namespace soulbox::isolation {

// Bytes received and sent, counted since the interfaces came up.
struct NetBytes {
  uint64_t rx = 0;
  uint64_t tx = 0;
};

// The sum over every interface but lo of the text of a /proc/<pid>/net/dev
// (two header lines, then "<name>: <8 receive fields> <8 transmit fields>").
NetBytes parse_net_dev(const std::string& text);

// The traffic of the network namespace `pid` is in; zeros when it cannot be
// read (the process is gone).
NetBytes read_net_bytes(pid_t pid);

struct SandboxUsage {
  CgroupUsage cgroup;
  NetBytes net;
};

// The cgroup's counters and the traffic of `agent_pid`'s network namespace;
// an error when the cgroup cannot be read.
Result<SandboxUsage> read_sandbox_usage(const Cgroup& cgroup, pid_t agent_pid);

}  // namespace soulbox::isolation
