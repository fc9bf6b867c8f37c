// Runs a function at scope exit unless cancel() was called: rollback of
// partially built resources (e.g. drop the cgroup unless the clone succeeded).
#pragma once
#include <utility>

namespace soulbox {

template <class F>
class scope_guard {
 public:
  explicit scope_guard(F f) : f_(std::move(f)) {}
  scope_guard(const scope_guard&) = delete;
  scope_guard& operator=(const scope_guard&) = delete;
  ~scope_guard() {
    if (armed_) f_();
  }
  void cancel() noexcept { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

// [[nodiscard]]: a guard not kept in a variable would run at once.
template <class F>
[[nodiscard]] scope_guard<F> defer(F f) {
  return scope_guard<F>(std::move(f));
}

}  // namespace soulbox
