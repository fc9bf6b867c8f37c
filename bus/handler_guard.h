// Subscription handlers run on nats.c's threads: an exception must never
// unwind into C (std::terminate would end the process, and an event stored
// in a stream would end it again at every restart). The guard logs what
// escaped with where it came from, counts it, and drops the message.
#pragma once
#include <cstdint>
#include <exception>
#include <string>

namespace soulbox::bus {

// Logs and counts a handler's failure; seq is the message's stream
// sequence, 0 for plain subjects.
void report_failed_handler(const std::string& subject, uint64_t seq, const char* what) noexcept;

template <class Handler>
void run_guarded(const std::string& subject, uint64_t seq, Handler&& handler) noexcept {
  try {
    handler();
  } catch (const std::exception& e) {
    report_failed_handler(subject, seq, e.what());
  } catch (...) {
    report_failed_handler(subject, seq, "an exception of unknown type");
  }
}

// Messages whose handler threw, since the process started.
uint64_t failed_handlers();

}  // namespace soulbox::bus
