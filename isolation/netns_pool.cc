#include "isolation/netns_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "isolation/fd_passing.h"
#include "isolation/rootfs.h"

namespace soulbox::isolation {
namespace {

// The helper: one fresh loopback-only namespace per request byte.
[[noreturn]] void helper_main(int sock) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "soulbox-netns");
  char request = 0;
  while (::read(sock, &request, 1) == 1) {
    std::string step;
    if (::unshare(CLONE_NEWNET) != 0 || bring_loopback_up(&step) != 0) ::_exit(1);
    const int ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns < 0 || !send_with_fds(sock, "N", ns)) ::_exit(1);
    ::close(ns);  // the receiver's copy keeps it alive
  }
  ::_exit(0);
}

}  // namespace

Result<NetnsPool> NetnsPool::start(int depth) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return sys_error("socketpair");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork netns helper");
  if (pid == 0) {
    ::close(pair[0]);
    helper_main(pair[1]);
  }
  ::close(pair[1]);
  NetnsPool pool(pid, unique_fd(pair[0]));
  const std::string requests(size_t(depth), 'R');
  if (::write(pool.socket_.get(), requests.data(), requests.size()) != ssize_t(requests.size()))
    return sys_error("prime netns helper");
  return pool;
}

NetnsPool::~NetnsPool() {
  if (helper_ <= 0) return;
  socket_.reset();  // EOF ends the helper
  ::kill(helper_, SIGKILL);
  ::waitpid(helper_, nullptr, 0);
}

unique_fd NetnsPool::take() {
  unique_fd ns;
  if (!receive_with_fds(socket_.get(), 1, /*nonblocking=*/true, &ns) || !ns) return unique_fd();
  const char refill = 'R';
  (void)!::write(socket_.get(), &refill, 1);
  return ns;
}

}  // namespace soulbox::isolation
