// Clones a sandbox: new user, pid, mount, uts, ipc, net and cgroup namespaces,
// a parent/child handshake over a socketpair, and exec of the agent.
//
// Must be called from a single-threaded process (soulbox-isolate, tests, or
// the launcher process soulboxd forks before its threads start): the child
// runs ordinary code between clone and exec.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "isolation/cgroup.h"
#include "isolation/privileges.h"
#include "isolation/rootfs.h"
#include "isolation/seccomp_policy.h"

namespace soulbox::isolation {

struct LaunchRequest {
  RootfsPlan rootfs;
  std::string hostname;
  uint32_t host_id_base = 0;
  int agent_channel_fd = -1;  // child end of the agent socketpair -> fd 3
  int agent_exec_fd = -1;     // sealed memfd holding soulbox-agent
  std::vector<std::string> agent_argv;
  const SeccompProgram* seccomp = nullptr;
  RlimitSettings rlimits;
  Cgroup* cgroup = nullptr;
  bool die_with_parent = true;
  // A prepared network namespace (NetnsPool) to join instead of creating
  // one, and the launcher's own namespace to return to afterwards.
  int netns_fd = -1;
  int host_netns_fd = -1;
};

struct Launched {
  pid_t pid = -1;
  unique_fd pidfd;
};

Result<Launched> launch_sandbox(const LaunchRequest& request);

}  // namespace soulbox::isolation
