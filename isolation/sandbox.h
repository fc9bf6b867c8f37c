// A running sandbox as seen from the host: the agent process (PID 1 inside),
// its pidfd, the host end of the agent channel, its cgroup and its id range.
// destroy() (or the destructor) tears everything down.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "isolation/cgroup.h"
#include "isolation/userns.h"

namespace soulbox::isolation {

class Sandbox {
 public:
  Sandbox(std::string id, pid_t agent_pid, unique_fd pidfd, unique_fd channel, std::unique_ptr<Cgroup> cgroup,
          IdRange ids, std::string scratch_dir, unique_fd scratch_lock);
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;
  ~Sandbox();

  const std::string& id() const { return id_; }
  pid_t agent_pid() const { return agent_pid_; }
  int pidfd() const { return pidfd_.get(); }
  // Host end of the agent channel (see messages/agent.fbs).
  int channel_fd() const { return channel_.get(); }
  // Hands the channel to another owner (the launcher service passes it to
  // the daemon); channel_fd() is -1 afterwards.
  unique_fd release_channel() { return std::move(channel_); }
  Cgroup& cgroup() { return *cgroup_; }
  uint32_t host_id_base() const { return ids_.host_base; }

  // False once the agent has exited (crash, kill from inside the host, OOM).
  bool agent_alive() const;

  // Kills every process, waits for the agent, removes the cgroup and the
  // scratch directory, releases the id range. Idempotent.
  Status destroy();

 private:
  std::string id_;
  pid_t agent_pid_;
  unique_fd pidfd_;
  unique_fd channel_;
  std::unique_ptr<Cgroup> cgroup_;
  IdRange ids_;
  std::string scratch_dir_;
  unique_fd scratch_lock_;  // flock held while the sandbox lives (see collect_stale)
  bool destroyed_ = false;
};

}  // namespace soulbox::isolation
