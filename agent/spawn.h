// Starts one user process from the agent: clone(CLONE_VM|CLONE_VFORK) on a
// private stack (cheaper than fork: no page-table copy), then in the child
// only raw syscalls: own process group (a new session on a pty), stdio,
// identity and capability drop, cwd (entered with the user's rights), exec.
// The filter and no_new_privs are inherited from the agent.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace soulbox::agent {

struct SpawnRequest {
  const char* path = nullptr;  // absolute, already resolved
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int stdin_fd = -1;  // used when pty_slave is null
  int stdout_fd = -1;
  int stderr_fd = -1;
  const char* pty_slave = nullptr;  // path of the pts to make the controlling tty
  // Written to /proc/self/oom_score_adj when set (a kernel: its cells' memory
  // bombs must make the OOM killer pick it, never the agent).
  const char* oom_score_adj = nullptr;
  // Become fds 3, 4 and 5 of the child when >= 0 (a kernel's event and
  // request pipes, and its program as a file: kernels/README.md).
  static constexpr int kExtraFds = 3;
  int extra_fds[kExtraFds] = {-1, -1, -1};
};

// argv/envp for execve: pointers into `strings`, then nullptr (valid while
// `strings` lives unchanged).
std::vector<char*> exec_array(std::vector<std::string>& strings);

// Where a failed start failed.
enum class SpawnStep { setup, cwd, exec };

// Returns the child's pid, or -1 with *err set (the child's errno when exec or
// a setup step failed) and *failed_step when given.
pid_t spawn_process(const SpawnRequest& request, int* err, SpawnStep* failed_step = nullptr);

// "<what> in <cwd>: <error>", or "<what>: cannot enter the working directory
// <cwd>: <error>" when that was the step that failed.
std::string spawn_failure(const std::string& what, const SpawnRequest& request, int err, SpawnStep failed_step);

}  // namespace soulbox::agent
