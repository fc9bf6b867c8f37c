// Waits for something the system under test does on its own time (an
// actor's append, a redelivery, a reconnect): polls `condition` every 20 ms
// until it holds or `timeout_ms` passes, and says which.
#pragma once
#include <chrono>
#include <thread>

namespace soulbox::test {

template <class Condition>
bool eventually(Condition condition, int timeout_ms = 20000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace soulbox::test
