#include "gateway/handler_pool.h"

#include <limits.h>
#include <pthread.h>

#include <algorithm>

namespace soulbox::gateway {

struct HandlerPool::State {
  Limits limits;
  std::mutex mu;
  std::condition_variable work_cv;     // workers: a task, or the end
  std::condition_variable monitor_cv;  // the monitor: work waits without a thread, or the end
  std::condition_variable done_cv;     // the destructor: a worker ended
  std::deque<std::function<void()>> queue;
  int threads = 0;     // workers alive, starting ones included
  int idle = 0;        // workers waiting for work
  int starting = 0;    // workers created that have not yet looked for work
  uint64_t taken = 0;  // tasks taken from the queue, ever: the monitor's measure of progress
  bool stopping = false;

  // Tasks queued that no idle or starting worker will take.
  size_t waiting() const {
    const size_t ready = size_t(idle + starting);
    return queue.size() > ready ? queue.size() - ready : 0;
  }
};

HandlerPool::HandlerPool(const Limits& limits) : state_(std::make_shared<State>()) {
  state_->limits = limits;
  state_->limits.max_threads = std::max(1, limits.max_threads);
  state_->limits.eager_threads = std::clamp(limits.eager_threads, 1, state_->limits.max_threads);
  monitor_started_ = spawn(state_, monitor_main, &monitor_);
}

HandlerPool::~HandlerPool() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->stopping = true;
  state_->work_cv.notify_all();
  state_->monitor_cv.notify_all();
  lock.unlock();
  if (monitor_started_) ::pthread_join(monitor_, nullptr);
  lock.lock();
  state_->done_cv.wait(lock, [&] { return state_->threads == 0; });
}

int HandlerPool::threads() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->threads;
}

bool HandlerPool::spawn(const std::shared_ptr<State>& s, void* (*main)(void*), pthread_t* out) {
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, std::max<size_t>(s->limits.stack_bytes, PTHREAD_STACK_MIN));
  if (!out) ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  auto* arg = new std::shared_ptr<State>(s);
  pthread_t thread;
  const int err = ::pthread_create(out ? out : &thread, &attr, main, arg);
  ::pthread_attr_destroy(&attr);
  if (err) delete arg;
  return err == 0;
}

bool HandlerPool::submit(std::function<void()> task) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.stopping) return false;
  if (s.queue.size() < size_t(s.idle + s.starting)) {  // a worker is free to take it
    s.queue.push_back(std::move(task));
    lock.unlock();  // so that the worker woken does not wait for this lock
    s.work_cv.notify_one();
    return true;
  }
  if (s.threads < s.limits.eager_threads) {
    ++s.threads;
    ++s.starting;
    if (spawn(state_, worker_main)) {
      s.queue.push_back(std::move(task));
      return true;
    }
    --s.threads;
    --s.starting;
    if (s.threads == 0) return false;  // nothing would ever run it
  }
  if (s.waiting() >= s.limits.max_queued) return false;
  s.queue.push_back(std::move(task));
  s.monitor_cv.notify_one();
  return true;
}

void* HandlerPool::worker_main(void* arg) {
  // Declared before the lock: the state outlives this thread's last unlock.
  std::shared_ptr<State> s = std::move(*static_cast<std::shared_ptr<State>*>(arg));
  delete static_cast<std::shared_ptr<State>*>(arg);
  ::pthread_setname_np(::pthread_self(), "http-handler");
  std::unique_lock<std::mutex> lock(s->mu);
  --s->starting;
  while (true) {
    if (!s->queue.empty()) {
      std::function<void()> task = std::move(s->queue.front());
      s->queue.pop_front();
      ++s->taken;
      lock.unlock();
      try {
        task();
      } catch (...) {  // the server's tasks catch their own; this keeps the thread
      }
      task = nullptr;  // what it holds goes before the lock is taken again
      lock.lock();
      continue;
    }
    if (s->stopping) break;
    ++s->idle;
    const bool woke = s->work_cv.wait_for(lock, s->limits.idle_exit, [&] { return !s->queue.empty() || s->stopping; });
    --s->idle;
    if (!woke) break;  // idle too long
  }
  --s->threads;
  s->done_cv.notify_all();
  return nullptr;
}

// Adds a worker when queued work has waited a millisecond with no worker
// taking any: every worker is blocked, and more quick ones would not help
// only when the CPU is the limit (then work is taken, just slowly).
void* HandlerPool::monitor_main(void* arg) {
  std::shared_ptr<State> s = std::move(*static_cast<std::shared_ptr<State>*>(arg));
  delete static_cast<std::shared_ptr<State>*>(arg);
  ::pthread_setname_np(::pthread_self(), "http-pool");
  std::unique_lock<std::mutex> lock(s->mu);
  auto starved = [&] { return s->waiting() > 0 && s->threads < s->limits.max_threads; };
  while (!s->stopping) {
    if (!starved()) {
      s->monitor_cv.wait(lock);
      continue;
    }
    const uint64_t seen = s->taken;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    s->monitor_cv.wait_until(lock, deadline, [&] { return s->stopping; });
    if (s->stopping || s->taken != seen || !starved()) continue;
    ++s->threads;
    ++s->starting;
    if (!spawn(s, worker_main)) {
      --s->threads;
      --s->starting;
    }
  }
  return nullptr;
}

}  // namespace soulbox::gateway
