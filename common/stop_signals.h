// SIGTERM and SIGINT blocked in the calling thread (and every thread it
// starts afterwards), SIGPIPE ignored: call before any library starts
// threads, then sigwait/sigtimedwait on the returned set.
#pragma once
#include <pthread.h>
#include <signal.h>

namespace soulbox {

inline sigset_t block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return stop;
}

}  // namespace soulbox
