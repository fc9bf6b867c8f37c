#include "isolation/sandbox.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

namespace soulbox::isolation {

Sandbox::Sandbox(std::string id, pid_t agent_pid, unique_fd pidfd, unique_fd channel, std::unique_ptr<Cgroup> cgroup,
                 IdRange ids, std::string scratch_dir, unique_fd scratch_lock)
    : id_(std::move(id)),
      agent_pid_(agent_pid),
      pidfd_(std::move(pidfd)),
      channel_(std::move(channel)),
      cgroup_(std::move(cgroup)),
      ids_(std::move(ids)),
      scratch_dir_(std::move(scratch_dir)),
      scratch_lock_(std::move(scratch_lock)) {}

Sandbox::~Sandbox() {
  if (auto st = destroy(); !st) logger("isolation")->error("teardown of {}: {}", id_, st.error().message);
}

bool Sandbox::agent_alive() const {
  if (destroyed_) return false;
  struct pollfd pfd {
    pidfd_.get(), POLLIN, 0
  };
  return ::poll(&pfd, 1, 0) == 0;  // a pidfd becomes readable when the process exits
}

Status Sandbox::destroy() {
  if (destroyed_) return {};
  destroyed_ = true;
  channel_.reset();
  // PID 1 of a pid namespace takes every process of the namespace with it.
  // A frozen sandbox must be thawed for the kill to land (cgroup v1 freezer).
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  (void)cgroup_->thaw();
  while (::waitpid(agent_pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  Status result;
  // Belt and braces: anything still in the cgroup (there should be nothing).
  if (auto st = cgroup_->kill_all(); !st) result = st;
  if (auto st = cgroup_->remove(); !st && result) result = st;
  if (::rmdir(scratch_dir_.c_str()) != 0 && errno != ENOENT && result) result = sys_error("rmdir " + scratch_dir_);
  ids_.lease.reset();
  scratch_lock_.reset();
  pidfd_.reset();
  return result;
}

}  // namespace soulbox::isolation
