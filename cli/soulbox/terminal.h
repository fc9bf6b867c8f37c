// The local terminal for `soulbox exec -i`: raw mode for the lifetime of a
// RawMode object (restored on every exit path), and the window size.
#pragma once
#include <termios.h>

#include <cstdint>
#include <utility>

namespace soulbox::cli {

class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

// (rows, cols) of the terminal on `fd`; (24, 80) when it is not one.
std::pair<uint16_t, uint16_t> window_size(int fd);

}  // namespace soulbox::cli
