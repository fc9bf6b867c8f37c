#include "cli/soulbox/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace soulbox::cli {

RawMode::RawMode(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawMode::~RawMode() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

std::pair<uint16_t, uint16_t> window_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return {24, 80};
  return {ws.ws_row, ws.ws_col};
}

}  // namespace soulbox::cli
