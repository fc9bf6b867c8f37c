// Starting a soulboxd child on this host and waiting until it is ready: for
// tests, benchmarks and tools that need a private node.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "client/client.h"

namespace soulbox::client {

struct LocalDaemonOptions {
  std::string binary;             // path to soulboxd
  std::string root;               // data/ and run/ go here; soulboxd.out collects its output
  std::vector<std::string> args;  // added to the command line
  std::vector<std::string> env;   // KEY=VALUE added to the environment
  uint64_t open_file_limit = 0;   // its RLIMIT_NOFILE, soft and hard (0: this process's)
  int ready_timeout_ms = 30000;
};

struct LocalDaemon {
  pid_t pid = -1;
  NodeAddress address;
};

// Forks and execs soulboxd with --data-dir <root>/data --run-dir <root>/run
// and waits for its ready file (naming its pid). The child gets SIGTERM when
// the thread that started it exits (PR_SET_PDEATHSIG): start it from a
// thread that outlives it. On failure the child is
// reaped and the error carries the tail of its output.
Result<LocalDaemon> start_local_daemon(const LocalDaemonOptions& options);

// SIGTERM, then SIGKILL after `grace_ms`; the exit status (-1 if killed).
int stop_local_daemon(pid_t pid, int grace_ms = 15000);

}  // namespace soulbox::client
