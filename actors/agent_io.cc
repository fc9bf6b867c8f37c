#include "actors/agent_io.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "actors/messages.h"
#include "common/monotonic_clock.h"

namespace soulbox::actors {

Result<std::unique_ptr<AgentIo>> AgentIo::start(AgentIoLimits limits) {
  unique_fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return sys_error("epoll_create1");
  unique_fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return sys_error("eventfd");
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.fd = wake.get();
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) return sys_error("epoll_ctl");
  std::unique_ptr<AgentIo> io(new AgentIo(std::move(ep), std::move(wake), limits));
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
  ev.events = EPOLLIN | EPOLLRDHUP;  // level-triggered: turn() relies on it
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    channels_.erase(fd);
    return sys_error("epoll_ctl add agent channel");
  }
  return {};
}

void AgentIo::forget(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  stop_watching(fd);
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
      if (it != channels_.end()) turn(fd, it->second);
    }
  }
}

// One turn of a channel: reads at most its share, forwards the whole frames
// and ends the channel when it closed or its agent broke the protocol.
void AgentIo::turn(int fd, Channel& channel) {
  const bool open = read_some(fd, channel);
  std::string broken;
  std::string batch = take_frames(channel, &broken);
  // The frames of one read go together: the actor can answer them with
  // fewer bus messages (a cell's output and its end in one).
  if (!batch.empty()) caf::anon_send(channel.owner, agent_atom::value, std::move(batch));
  if (!broken.empty()) {
    caf::anon_send(channel.owner, agent_broken_atom::value, std::move(broken));
    stop_watching(fd);
  } else if (!open) {
    caf::anon_send(channel.owner, agent_eof_atom::value);
    stop_watching(fd);
  }
}

// Reads without blocking, up to the turn's share: what is left keeps the
// (level-triggered) channel ready, so the next epoll_wait comes back to it
// after the other ready channels had their turn.
bool AgentIo::read_some(int fd, Channel& channel) {
  char buf[65536];
  size_t total = 0;
  while (total < limits_.read_bytes_per_turn) {
    const size_t want = std::min(sizeof buf, limits_.read_bytes_per_turn - total);
    const ssize_t n = ::recv(fd, buf, want, MSG_DONTWAIT);
    if (n > 0) {
      channel.reader.append(buf, size_t(n));
      total += size_t(n);
      if (size_t(n) < want) break;  // nothing more for now
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;  // else EOF or a hard error
  }
  return true;
}

// The whole frames read so far; stops at the first violation and says
// what it was in *broken.
std::string AgentIo::take_frames(Channel& channel, std::string* broken) {
  const int64_t now = monotonic_ns();
  if (now - channel.window_start_ns >= 1000000000) {
    channel.window_start_ns = now;
    channel.window_frames = 0;
  }
  std::string batch;
  for (;;) {
    const agentproto::Frame* frame = nullptr;
    const auto status = channel.reader.next(frame);
    if (status == agentproto::FrameReader::Status::need_more) break;
    if (status == agentproto::FrameReader::Status::bad_frame) {
      *broken = "a malformed frame";
      break;
    }
    if (limits_.max_frames_per_second && ++channel.window_frames > limits_.max_frames_per_second) {
      *broken = "more than " + std::to_string(limits_.max_frames_per_second) + " frames within one second";
      break;
    }
    batch.append(channel.reader.last_frame_encoded());
  }
  return batch;
}

void AgentIo::stop_watching(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  channels_.erase(fd);
}

}  // namespace soulbox::actors
