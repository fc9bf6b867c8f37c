#include "bus/loopback_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <fstream>

#include "common/unique_fd.h"

namespace soulbox::bus {
namespace {

// The span below the ephemeral range that ports are drawn from.
constexpr int kSpan = 12000;
constexpr int kLowest = 1024;
constexpr int kAttempts = 64;

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  return addr;
}

// Binds 127.0.0.1:port (0: any) and returns the port bound, or 0.
int bind_port(int port) {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = loopback(port);
  socklen_t len = sizeof addr;
  if (!s || ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

uint32_t random_u32() {
  uint32_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != ssize_t(sizeof v)) v = uint32_t(::time(nullptr));
  return v;
}

}  // namespace

std::pair<int, int> ephemeral_port_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;  // the kernel's default
  in >> low >> high;
  return {low, high};
}

Result<int> pick_loopback_port() {
  const int top = ephemeral_port_range().first;  // exclusive
  const int bottom = std::max(kLowest, top - kSpan);
  if (top - bottom >= 1000) {
    // Random rather than sequential: parallel daemons (and test runs) rarely
    // draw the same port between this check and the server's bind.
    for (int i = 0; i < kAttempts; ++i) {
      const int port = bottom + int(random_u32() % uint32_t(top - bottom));
      if (bind_port(port) == port) return port;
    }
  }
  if (const int port = bind_port(0); port > 0) return port;
  return sys_error("find a free loopback port");
}

bool port_accepts(int port) {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = loopback(port);
  return s && ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace soulbox::bus
