#include "actors/agent_io.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "actors/messages.h"

namespace soulbox::actors {

Result<std::unique_ptr<AgentIo>> AgentIo::start() {
  unique_fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return sys_error("epoll_create1");
  unique_fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return sys_error("eventfd");
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.fd = wake.get();
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) return sys_error("epoll_ctl");
  std::unique_ptr<AgentIo> io(new AgentIo(std::move(ep), std::move(wake)));
  io->thread_ = std::thread([p = io.get()] { p->run(); });
  return io;
}

AgentIo::~AgentIo() {
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

Status AgentIo::watch(int fd, caf::actor owner) {
  std::lock_guard<std::mutex> lock(mu_);
  channels_[fd] = Channel{std::move(owner), {}};
  struct epoll_event ev {};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    channels_.erase(fd);
    return sys_error("epoll_ctl add agent channel");
  }
  return {};
}

void AgentIo::forget(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  channels_.erase(fd);
}

void AgentIo::run() {
  struct epoll_event events[64];
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_.get()) return;
      std::lock_guard<std::mutex> lock(mu_);
      auto it = channels_.find(fd);
      if (it != channels_.end()) drain(fd, it->second);
    }
  }
}

// Reads what is there without blocking, forwards complete frames, and
// reports the end of the channel once (then stops watching it).
void AgentIo::drain(int fd, Channel& channel) {
  bool closed = false;
  for (;;) {
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      channel.reader.append(buf, size_t(n));
      if (size_t(n) == sizeof buf) continue;
      break;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    closed = true;  // EOF or a hard error
    break;
  }
  // The frames of one read go together: the actor can answer them with
  // fewer bus messages (a cell's output and its end in one).
  std::string batch;
  for (;;) {
    const agentproto::Frame* frame = nullptr;
    const auto status = channel.reader.next(frame);
    if (status == agentproto::FrameReader::Status::need_more) break;
    if (status == agentproto::FrameReader::Status::bad_frame) {
      closed = true;  // a broken agent is treated as a dead one
      break;
    }
    batch.append(channel.reader.last_frame_encoded());
  }
  if (!batch.empty()) caf::anon_send(channel.owner, agent_atom::value, std::move(batch));
  if (closed) {
    caf::anon_send(channel.owner, agent_eof_atom::value);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    channels_.erase(fd);
  }
}

}  // namespace soulbox::actors
