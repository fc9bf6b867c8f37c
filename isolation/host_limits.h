// How many sandboxes this host can hold (docs/density.md): each host limit
// that sandboxes draw on, read from a /proc and a cgroup root (tests pass
// fake trees), set against what one idle sandbox costs of it, with the
// setting that raises it. The smallest is the node's cap.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "isolation/sandbox_spec.h"
#include "isolation/userns.h"

namespace soulbox::isolation {

inline constexpr uint64_t kDensityTarget = 10000;  // idle sandboxes one node should hold
inline constexpr uint64_t kUnlimited = UINT64_MAX;

// What one idle sandbox costs of each resource, measured with real
// sandboxes (docs/density.md has the measurement).
struct SandboxCosts {
  uint64_t tasks = 1;              // its agent, PID 1 inside; what it runs comes on top
  uint64_t namespaces = 1;         // of each kind: user, pid, mnt, uts, ipc, net, cgroup
  uint64_t inotify_instances = 0;  // none while idle: the agent opens one for its first watch (charged to root)
  uint64_t inotify_watches = 0;    // none until a watch is opened
  uint64_t daemon_fds = 2;         // soulboxd: the agent channel and the agent's pidfd
  uint64_t launcher_fds = 3;       // the launcher: the pidfd, the scratch-dir lock, the id-slot lease
  uint64_t open_files = 13;        // host-wide: the five above and the agent's own eight
  uint64_t epoll_watches = 1;      // soulboxd's AgentIo watching the channel (charged to root)
  uint64_t memory_cgroups = 1;     // its cgroup
  uint64_t ptys = Limits{}.ptys;   // its devpts cap, kept free for it
  uint64_t id_slots = 1;           // its host uid/gid range
};

struct DensityInputs {
  std::string proc = "/proc";
  std::string cgroup_root = "/sys/fs/cgroup";
  bool cgroup_v2 = false;
  // The launcher's RLIMIT_NOFILE and open fds are read from proc/<pid>; 0:
  // sandboxes are made in this process (its launcher_fds count here too).
  pid_t launcher_pid = 0;
  uint64_t id_slots = kIdSlots;        // usable_id_slots(): the layout less /etc/subuid and /etc/subgid
  uint64_t daemon_fd_headroom = 1024;  // soulboxd's fds for all but sandboxes: RocksDB, NATS, HTTP
  uint64_t launcher_fd_headroom = 64;  // the launcher's while it makes a sandbox
  SandboxCosts costs;
};

struct DensityLimit {
  std::string name;                 // e.g. "kernel.pid_max", "RLIMIT_NOFILE of soulboxd"
  uint64_t value = 0;               // the limit
  uint64_t in_use = 0;              // taken already (by the host and SoulBox), where counted
  uint64_t per_sandbox = 0;         // what one sandbox takes
  uint64_t sandboxes = kUnlimited;  // how many sandboxes fit in what is left
  std::string remedy;               // how to raise it, e.g. "sysctl -w kernel.pid_max=4194304"
};

struct DensityReport {
  std::vector<DensityLimit> limits;  // every limit that could be read
  // The limit allowing the fewest sandboxes (the first of equals); an
  // unlimited DensityLimit when none was read.
  DensityLimit binding() const;
  uint64_t cap() const { return binding().sandboxes; }
};

DensityReport assess_density(const DensityInputs& in);

// "density: this node can hold N sandboxes; capped by <limit> (<value>);
// raise it with <remedy>"
std::string density_summary(const DensityReport& report);
// One line for each limit that allows fewer than `target` sandboxes.
std::vector<std::string> density_warnings(const DensityReport& report, uint64_t target = kDensityTarget);

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit; returns
// the soft limit before and after. Children forked later inherit it.
struct OpenFileLimit {
  uint64_t before = 0;
  uint64_t after = 0;
};
Result<OpenFileLimit> raise_open_file_limit();

// The kernel's pty pool: every devpts instance but the host's draws on
// kernel.pty.max - kernel.pty.reserve terminals, and those in use anywhere
// (kernel.pty.nr) count against it. Each sandbox's devpts is capped
// (Limits::ptys) and the node admits only as many sandboxes as their caps
// fit, so no sandbox can be starved of terminals by its neighbours.
struct PtyPool {
  uint64_t max = 4096;      // kernel.pty.max
  uint64_t reserve = 1024;  // kernel.pty.reserve: kept for the host's own devpts
  uint64_t nr = 0;          // kernel.pty.nr: in use now
};
// Sandboxes whose caps fit in what is left of the pool (0 when none does).
uint64_t sandboxes_within_pty_pool(const PtyPool& pool, uint64_t ptys_per_sandbox);

}  // namespace soulbox::isolation
