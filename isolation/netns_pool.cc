#include "isolation/netns_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "isolation/rootfs.h"

namespace soulbox::isolation {
namespace {

// One byte plus room for one SCM_RIGHTS fd.
struct FdMessage {
  char byte = 'N';
  struct iovec iov {};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  FdMessage() {
    iov = {&byte, 1};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

bool send_fd(int sock, int fd) {
  FdMessage m;
  struct msghdr& msg = m.msg;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == 1;
}

// The helper: one fresh loopback-only namespace per request byte.
[[noreturn]] void helper_main(int sock) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "soulbox-netns");
  char request = 0;
  while (::read(sock, &request, 1) == 1) {
    std::string step;
    if (::unshare(CLONE_NEWNET) != 0 || bring_loopback_up(&step) != 0) ::_exit(1);
    const int ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns < 0 || !send_fd(sock, ns)) ::_exit(1);
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
  FdMessage m;
  struct msghdr& msg = m.msg;
  if (::recvmsg(socket_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return unique_fd();
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return unique_fd();
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  const char refill = 'R';
  (void)!::write(socket_.get(), &refill, 1);
  return unique_fd(fd);
}

}  // namespace soulbox::isolation
