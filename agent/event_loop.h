// A minimal epoll loop: one handler per fd.
#pragma once
#include <cstdint>
#include <functional>
#include <unordered_map>

#include "common/unique_fd.h"

namespace soulbox::agent {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  EventLoop();
  bool add(int fd, uint32_t events, Handler handler);
  void modify(int fd, uint32_t events);
  void remove(int fd);
  // Waits up to timeout_ms (-1: forever) and runs the handlers of ready fds.
  void run_once(int timeout_ms);

 private:
  unique_fd epoll_;
  std::unordered_map<int, Handler> handlers_;
};

}  // namespace soulbox::agent
