// Sandboxes for a multi-threaded process (soulboxd): a single-threaded
// launcher process, forked before any thread starts, owns the isolation
// Runtime and is the parent of every agent. The daemon asks it over a
// socketpair; each created sandbox comes back as file descriptors (the agent
// channel and a pidfd, passed with SCM_RIGHTS), so the daemon talks to the
// agent directly and watches its liveness without the launcher.
//
// If the daemon dies, the launcher sees EOF and destroys every sandbox; if
// the launcher dies, the agents die with it (PR_SET_PDEATHSIG) and the next
// Runtime::open collects what they left.
#pragma once
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "isolation/cgroup.h"
#include "isolation/runtime.h"

namespace soulbox::isolation {

struct RemoteSandbox {
  std::string id;
  pid_t agent_pid = -1;  // in the host's pid namespace
  uint32_t host_id_base = 0;
  unique_fd pidfd;    // readable when the agent exits
  unique_fd channel;  // the agent protocol (messages/agent.fbs)
};

class LauncherClient {
 public:
  // Forks the launcher; must run while the process is still single-threaded.
  static Result<std::unique_ptr<LauncherClient>> spawn(const RuntimeOptions& options);
  ~LauncherClient();  // closes the socket: the launcher destroys everything and exits

  // Thread-safe (one request at a time).
  Result<RemoteSandbox> create(const SandboxSpec& spec);
  Status destroy(const std::string& id);
  Status freeze(const std::string& id);
  Status thaw(const std::string& id);
  Result<CgroupUsage> usage(const std::string& id);
  pid_t launcher_pid() const { return pid_; }

 private:
  LauncherClient(pid_t pid, unique_fd socket) : pid_(pid), socket_(std::move(socket)) {}
  // Sends one JSON request; returns the JSON reply and up to two fds.
  Result<std::string> call(const std::string& request, unique_fd* fd_a = nullptr, unique_fd* fd_b = nullptr);

  pid_t pid_;
  unique_fd socket_;
  std::mutex mu_;
};

}  // namespace soulbox::isolation
