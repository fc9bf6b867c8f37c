#include "isolation/fd_passing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace soulbox::isolation {

Status send_with_fds(int sock, const std::string& data, int fd_a, int fd_b) {
  struct iovec iov {
    const_cast<char*>(data.data()), data.size()
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const int fds[2] = {fd_a, fd_b};
  const size_t count = fd_a < 0 ? 0 : fd_b < 0 ? 1 : 2;
  if (count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  }
  if (::sendmsg(sock, &msg, MSG_NOSIGNAL) != ssize_t(data.size()))
    return sys_error("send on unix socket", errno, ErrorCode::unavailable);
  return {};
}

Result<std::string> receive_with_fds(int sock, size_t max_bytes, bool nonblocking, unique_fd* fd_a, unique_fd* fd_b) {
  std::string data(max_bytes, '\0');
  struct iovec iov {
    data.data(), data.size()
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0));
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Error{ErrorCode::timeout, "nothing to receive yet"};
  if (n <= 0) return Error{ErrorCode::unavailable, "the peer process is gone"};
  data.resize(size_t(n));
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int fds[2] = {-1, -1};
    const size_t count = std::min<size_t>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int), 2);
    std::memcpy(fds, CMSG_DATA(c), sizeof(int) * count);
    unique_fd* targets[2] = {fd_a, fd_b};
    for (size_t i = 0; i < 2; ++i) {
      if (targets[i])
        targets[i]->reset(fds[i]);
      else if (fds[i] >= 0)
        ::close(fds[i]);
    }
  }
  return data;
}

}  // namespace soulbox::isolation
