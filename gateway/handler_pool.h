// The threads that run the gateway's HTTP handlers. Handlers may block
// (they wait on the bus; a stream writes for as long as it lasts), so the
// pool grows on demand up to a cap:
// - at once while it has fewer than `eager_threads` (a burst of quick
//   requests needs no more than that);
// - beyond that by one thread per millisecond while queued work makes no
//   progress (every thread is blocked: streams, slow bus calls), so a burst
//   of quick requests on a busy CPU does not become a thread per request;
// - never beyond `max_threads`; then work waits in a queue of at most
//   `max_queued`, and beyond that submit() refuses it (the server answers
//   503).
// A thread idle for `idle_exit` ends. Threads are created with small stacks
// (`stack_bytes`): a stream's thread costs its touched stack pages (a few
// KiB to tens of KiB) and the kernel's task, not 8 MiB of address space.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace soulbox::gateway {

class HandlerPool {
 public:
  struct Limits {
    int max_threads = 4096;
    size_t max_queued = 65536;
    int eager_threads = 64;
    size_t stack_bytes = 512 << 10;
    std::chrono::milliseconds idle_exit{30000};
  };

  explicit HandlerPool(const Limits& limits);
  // Runs what is queued, then waits for every thread to end.
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // False when the work can neither run nor wait (every thread busy and the
  // queue full, or no thread could be created).
  bool submit(std::function<void()> task);
  int threads() const;

 private:
  struct State;
  static void* worker_main(void* state);
  static void* monitor_main(void* state);
  static bool spawn(const std::shared_ptr<State>& s, void* (*main)(void*), pthread_t* out = nullptr);

  std::shared_ptr<State> state_;
  pthread_t monitor_{};
  bool monitor_started_ = false;
};

}  // namespace soulbox::gateway
