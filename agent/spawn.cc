#include "agent/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "isolation/privileges.h"

namespace soulbox::agent {
namespace {

constexpr size_t kStackSize = 256 * 1024;

struct ChildArgs {
  const SpawnRequest* req;
  const std::vector<int>* ignored;  // signals to give back their default action
  // Written by the child; the vfork parent reads them after.
  volatile int err;
  volatile SpawnStep failed_step;
};

// The signals this agent ignores: SIGPIPE (its own choice) and whatever it
// inherited ignored (a daemon started in the background of a shell script
// ignores SIGINT and SIGQUIT, and so did every sandbox's processes: Ctrl-C
// in a terminal, or a kernel's interrupt handler, did nothing). An ignored
// disposition survives execve; user code must start with the defaults.
const std::vector<int>& ignored_signals() {
  static const std::vector<int> ignored = [] {
    std::vector<int> signals;
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction current {};
      if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) signals.push_back(sig);
    }
    return signals;
  }();
  return ignored;
}

[[noreturn]] void child_exit(ChildArgs* a, int err, SpawnStep step = SpawnStep::setup) {
  a->err = err;
  a->failed_step = step;
  ::syscall(SYS_exit, 127);
  __builtin_unreachable();
}

int child_main(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  const SpawnRequest& r = *a->req;
  // The agent blocks SIGCHLD (signalfd) and ignores some signals; user code
  // gets the defaults.
  sigset_t none;
  sigemptyset(&none);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(uint64_t));
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : *a->ignored) ::sigaction(sig, &dfl, nullptr);
  if (r.pty_slave) {
    // A terminal needs a session of its own to become its controlling tty.
    if (::setsid() < 0) child_exit(a, errno);
    const int tty = ::open(r.pty_slave, O_RDWR);
    if (tty < 0) child_exit(a, errno);
    if (::ioctl(tty, TIOCSCTTY, 0) != 0) child_exit(a, errno);
    for (int target = 0; target <= 2; ++target)
      if (::dup2(tty, target) < 0) child_exit(a, errno);
    if (tty > 2) ::close(tty);
  } else {
    // Its own process group (signals and timeouts go to the group), without
    // a new session: setsid would also create a scheduler autogroup, which
    // costs tens of microseconds per process.
    if (::setpgid(0, 0) < 0) child_exit(a, errno);
    if (::dup2(r.stdin_fd, 0) < 0 || ::dup2(r.stdout_fd, 1) < 0 || ::dup2(r.stderr_fd, 2) < 0) child_exit(a, errno);
  }
  // Through fds >= 10 first, so a source numbered 3 to 5 is not overwritten
  // before it is copied.
  int moved[SpawnRequest::kExtraFds] = {-1, -1, -1};
  for (int i = 0; i < SpawnRequest::kExtraFds; ++i)
    if (r.extra_fds[i] >= 0 && (moved[i] = ::fcntl(r.extra_fds[i], F_DUPFD_CLOEXEC, 10)) < 0) child_exit(a, errno);
  for (int i = 0; i < SpawnRequest::kExtraFds; ++i)
    if (moved[i] >= 0 && ::dup2(moved[i], 3 + i) < 0) child_exit(a, errno);
  if (r.oom_score_adj) {  // raising it needs no privilege
    const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)!::write(fd, r.oom_score_adj, std::strlen(r.oom_score_adj));
      ::close(fd);
    }
  }
  if (int err = isolation::drop_to_user(r.uid, r.gid)) child_exit(a, err);
  // With the user's own rights: the agent's would let `user` start in a
  // directory it may not enter, such as /root.
  if (::chdir(r.cwd) != 0) child_exit(a, errno, SpawnStep::cwd);
  ::execve(r.path, r.argv, r.envp);
  child_exit(a, errno, SpawnStep::exec);
}

char* spawn_stack() {
  static char* top = [] {
    void* base = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return base == MAP_FAILED ? nullptr : static_cast<char*>(base) + kStackSize;
  }();
  return top;
}

}  // namespace

std::vector<char*> exec_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn_process(const SpawnRequest& request, int* err, SpawnStep* failed_step) {
  SpawnStep ignored_step;
  if (!failed_step) failed_step = &ignored_step;
  *failed_step = SpawnStep::setup;
  char* stack = spawn_stack();
  if (!stack) {
    *err = ENOMEM;
    return -1;
  }
  ChildArgs args{&request, &ignored_signals(), 0, SpawnStep::setup};
  // CLONE_VFORK: we resume once the child has exec'd or exited, so `args` and
  // the single spawn stack are never used by two children at once.
  const pid_t pid = ::clone(child_main, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) {
    *err = errno;
    return -1;
  }
  if (args.err != 0) {
    *err = args.err;
    *failed_step = args.failed_step;
    return -1;  // the child has exited with 127; the SIGCHLD reaper collects it
  }
  return pid;
}

std::string spawn_failure(const std::string& what, const SpawnRequest& request, int err, SpawnStep failed_step) {
  if (failed_step == SpawnStep::cwd)
    return what + ": cannot enter the working directory " + request.cwd + ": " + std::strerror(err);
  return what + " in " + request.cwd + ": " + std::strerror(err);
}

}  // namespace soulbox::agent
