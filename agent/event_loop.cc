#include "agent/event_loop.h"

#include <sys/epoll.h>

#include <cerrno>

namespace soulbox::agent {

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}

bool EventLoop::add(int fd, uint32_t events, Handler handler) {
  struct epoll_event ev {};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  handlers_[fd] = std::move(handler);
  return true;
}

void EventLoop::modify(int fd, uint32_t events) {
  struct epoll_event ev {};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::remove(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

void EventLoop::run_once(int timeout_ms) {
  struct epoll_event events[64];
  const int n = ::epoll_wait(epoll_.get(), events, 64, timeout_ms);
  for (int i = 0; i < n; ++i) {
    // A handler may remove other fds: look each one up afresh.
    auto it = handlers_.find(events[i].data.fd);
    if (it == handlers_.end()) continue;
    Handler handler = it->second;
    handler(events[i].events);
  }
}

}  // namespace soulbox::agent
