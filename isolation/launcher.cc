// The containment checklist (child side, in order; seccomp last before exec):
//   wait for id maps -> become root of the new user namespace -> filesystem
//   (rootfs.cc) -> hostname, loopback -> wait for cgroup attach -> cgroup
//   namespace -> new session -> fds -> rlimits -> capability bounding set ->
//   seccomp -> exec.
// Handshake bytes from parent: 'M' maps written, 'C' cgroup attached. The child
// answers only on failure (a ChildFailure record); a successful exec closes
// its CLOEXEC end, which the parent reads as EOF.
#include "isolation/launcher.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/scope_guard.h"
#include "isolation/userns.h"
#include "messages/agent_protocol.h"

namespace soulbox::isolation {
namespace {

struct ChildFailure {
  int err;
  char step[200];
};

constexpr uint64_t kCloneFlags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD;

[[noreturn]] void child_fail(int handshake, int err, const std::string& step) {
  ChildFailure f{};
  f.err = err;
  std::strncpy(f.step, step.c_str(), sizeof f.step - 1);
  (void)!::write(handshake, &f, sizeof f);
  ::_exit(127);
}

bool wait_byte(int fd, char expected) {
  char c = 0;
  return ::read(fd, &c, 1) == 1 && c == expected;
}

// Moves `fd` to a number >= 10 so that fd 0-3 can be assigned freely.
int move_high(int fd) {
  return fd >= 10 ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

// Leaves exactly: 0-2 -> /dev/null, 3 -> agent channel; everything else
// close-on-exec, so no host fd reaches the sandbox (CVE-2024-21626 class).
int arrange_fds(int channel, std::string* step) {
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return *step = "open /dev/null", errno;
  for (int target = 0; target <= 2; ++target)
    if (::dup2(devnull, target) < 0) return *step = "dup2 stdio", errno;
  if (::dup2(channel, agentproto::kChannelFd) < 0) return *step = "dup2 channel", errno;
  if (::syscall(SYS_close_range, agentproto::kChannelFd + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    return *step = "close_range", errno;
  return 0;
}

// When memory runs short the OOM killer should take a sandbox's process,
// never soulboxd, its launcher or nats-server: those start at -1000 where the
// host allows it (CAP_SYS_RESOURCE), and each sandbox gets a score of +300
// on top of its size either way (raising a score needs no privilege). Set
// from here, with CAP_SYS_RESOURCE, 300 is also the sandbox's floor
// (oom_score_adj_min): from inside it cannot lower itself again.
constexpr const char kSandboxOomScoreAdj[] = "300";

Status set_sandbox_oom_score(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  const size_t n = sizeof kSandboxOomScoreAdj - 1;
  if (!fd || ::write(fd.get(), kSandboxOomScoreAdj, n) != ssize_t(n)) return sys_error("write " + path);
  return {};
}

[[noreturn]] void child_main(const LaunchRequest& req, int handshake) {
  std::string step;
  int channel = move_high(req.agent_channel_fd);
  const int exec_fd = move_high(req.agent_exec_fd);
  handshake = move_high(handshake);
  if (channel < 0 || exec_fd < 0 || handshake < 0) child_fail(handshake, errno, "move fds");
  if (!wait_byte(handshake, 'M')) child_fail(handshake, EPIPE, "wait for id maps");
  // Become uid/gid 0 of the new namespace (= the sandbox's host base id).
  if (::syscall(SYS_setresgid, 0, 0, 0) != 0) child_fail(handshake, errno, "setresgid 0");
  if (::syscall(SYS_setresuid, 0, 0, 0) != 0) child_fail(handshake, errno, "setresuid 0");
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) child_fail(handshake, errno, "setgroups");
  // After the credential change, which clears it (prctl(2)). A parent that
  // died before this point is noticed at the 'C' handshake (EOF).
  if (req.die_with_parent && ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(handshake, errno, "die with parent");
  if (int err = build_rootfs_and_pivot(req.rootfs, &step)) child_fail(handshake, err, step);
  if (::sethostname(req.hostname.data(), req.hostname.size()) != 0) child_fail(handshake, errno, "sethostname");
  if (req.netns_fd < 0)  // a pooled namespace comes with loopback up
    if (int err = bring_loopback_up(&step)) child_fail(handshake, err, step);
  // The cgroup namespace is rooted where the child lives when it unshares:
  // after the attach, so the sandbox sees its own group as "/".
  if (!wait_byte(handshake, 'C')) child_fail(handshake, EPIPE, "wait for cgroup attach");
  if (::unshare(CLONE_NEWCGROUP) != 0) child_fail(handshake, errno, "unshare cgroup namespace");
  // A new session: no controlling terminal of the caller (a host tty) is
  // reachable through /dev/tty from inside (CVE-2017-5226 class).
  if (::setsid() < 0) child_fail(handshake, errno, "setsid");
  if (int err = arrange_fds(channel, &step)) child_fail(handshake, err, step);
  if (int err = apply_rlimits(req.rlimits)) child_fail(handshake, err, "setrlimit");
  if (int err = drop_bounding_set_except(agent_capability_mask())) child_fail(handshake, err, "drop capabilities");
  if (int err = install_seccomp_program(*req.seccomp)) child_fail(handshake, err, "install seccomp");
  std::vector<char*> argv;
  for (const auto& a : req.agent_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  ::syscall(SYS_execveat, exec_fd, "", argv.data(), envp, AT_EMPTY_PATH);
  child_fail(handshake, errno, "exec soulbox-agent");
}

Status send_byte(int fd, char c) {
  // MSG_NOSIGNAL: a child that died must not take the caller down with SIGPIPE.
  if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) return sys_error(std::string("handshake send '") + c + "'");
  return {};
}

// Reads the child's verdict: EOF means it exec'd the agent.
Status await_exec(int handshake, pid_t pid) {
  struct pollfd pfd {
    handshake, POLLIN, 0
  };
  const int ready = ::poll(&pfd, 1, 10000);
  if (ready == 0)
    return Error{ErrorCode::timeout, "sandbox child " + std::to_string(pid) + " did not exec within 10 s"};
  if (ready < 0) return sys_error("poll handshake");
  ChildFailure f{};
  const ssize_t n = ::read(handshake, &f, sizeof f);
  if (n == 0) return {};
  if (n != ssize_t(sizeof f)) return sys_error("read handshake");
  f.step[sizeof f.step - 1] = '\0';
  return sys_error(std::string("sandbox setup failed at '") + f.step + "'", f.err);
}

}  // namespace

// procfs gives /proc/self/task a link count of 2 + the number of threads.
bool single_threaded() {
  struct stat st {};
  return ::stat("/proc/self/task", &st) == 0 && st.st_nlink == 3;
}

Result<Launched> launch_sandbox(const LaunchRequest& req) {
  if (!single_threaded())
    return Error{ErrorCode::internal,
                 "sandboxes must be launched from a single-threaded process: the child runs ordinary code "
                 "between clone and exec (see isolation/launcher.h)"};
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return sys_error("socketpair");
  unique_fd parent_end(pair[0]), child_end(pair[1]);

  // A pooled network namespace is joined by the launcher for the clone only:
  // the child inherits it, the launcher returns to its own at once.
  const bool pooled_net = req.netns_fd >= 0 && req.host_netns_fd >= 0;
  if (pooled_net && ::setns(req.netns_fd, CLONE_NEWNET) != 0) return sys_error("setns into pooled netns");
  int pidfd = -1;
  struct clone_args args {};
  args.flags = kCloneFlags | (pooled_net ? 0 : CLONE_NEWNET);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  std::fflush(nullptr);  // the child must not flush the parent's stdio buffers
  const long pid = ::syscall(SYS_clone3, &args, sizeof args);
  const int clone_errno = errno;
  if (pid == 0) {
    parent_end.reset();
    child_main(req, child_end.release());
  }
  if (pooled_net && ::setns(req.host_netns_fd, CLONE_NEWNET) != 0) {
    // Never keep running in a sandbox's namespace.
    std::fprintf(stderr, "soulbox: cannot return to the host network namespace: %s\n", std::strerror(errno));
    std::abort();
  }
  if (pid < 0) return sys_error("clone3 (new user/pid/mount/uts/ipc/net namespaces)", clone_errno);
  child_end.reset();
  Launched launched{pid_t(pid), unique_fd(pidfd)};
  auto reap_on_failure = defer([&] {
    ::syscall(SYS_pidfd_send_signal, launched.pidfd.get(), SIGKILL, nullptr, 0);
    ::waitpid(launched.pid, nullptr, 0);
  });

  if (auto st = write_id_maps(launched.pid, req.host_id_base); !st) return st.error();
  if (auto st = set_sandbox_oom_score(launched.pid); !st) return st.error();
  // A child that failed early has written its {step, errno} and exited: if
  // a send fails, that report is the error to give.
  auto child_report = [&](const Status& send_failure) {
    auto report = await_exec(parent_end.get(), launched.pid);
    return report ? send_failure.error() : report.error();
  };
  if (auto st = send_byte(parent_end.get(), 'M'); !st) return child_report(st);
  // The attach (slow on cgroup v1 after a quiet period) overlaps the child's
  // filesystem setup; the child waits for 'C' before it can run anything.
  if (req.cgroup) {
    if (auto st = req.cgroup->attach(launched.pid); !st) return st.error();
  }
  if (auto st = send_byte(parent_end.get(), 'C'); !st) return child_report(st);
  if (auto st = await_exec(parent_end.get(), launched.pid); !st) return st.error();
  reap_on_failure.cancel();
  return launched;
}

}  // namespace soulbox::isolation
