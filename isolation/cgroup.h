// One interface over cgroup v1 and v2, chosen once at start-up
// (detect_cgroup_driver). Each sandbox gets one Cgroup.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace soulbox::isolation {

struct CgroupLimits {
  uint64_t memory_bytes = 0;  // hard limit; swap is not allowed
  double cpus = 1.0;          // CFS quota as a share of one CPU
  uint32_t pids = 0;
};

struct CgroupUsage {
  uint64_t memory_current = 0;  // bytes, kernel memory included
  uint64_t memory_peak = 0;     // bytes
  uint64_t cpu_usec = 0;        // user + system
  uint64_t pids_current = 0;
  uint64_t oom_kills = 0;      // processes the OOM killer took
  uint64_t io_read_bytes = 0;  // block I/O, cumulative (the writable layer is tmpfs: host reads mostly)
  uint64_t io_write_bytes = 0;
};

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual Status attach(pid_t pid) = 0;
  virtual Status freeze() = 0;
  virtual Status thaw() = 0;
  // SIGKILL to every process in the group; returns when it is empty or after
  // a bounded wait.
  virtual Status kill_all() = 0;
  virtual Result<CgroupUsage> usage() const = 0;
  // Whether the group reached its own memory limit since the last call (an
  // OOM kill then was the sandbox's own doing, not the node's): v2 counts
  // it (memory.events "oom"); v1 keeps a peak, which this resets.
  virtual bool memory_limit_reached_since_last_check() = 0;
  // Removes the group (it must be empty); safe to call twice.
  virtual Status remove() = 0;
};

class CgroupDriver {
 public:
  virtual ~CgroupDriver() = default;
  virtual Result<std::unique_ptr<Cgroup>> create(const std::string& name, const CgroupLimits& limits) = 0;
  // A handle on an existing group (for clean-up after a crash).
  virtual std::unique_ptr<Cgroup> open(const std::string& name) = 0;
  virtual const char* version() const = 0;
  // The parent group of all sandboxes. What they use together: their working
  // set (memory in use minus inactive page cache, which the kernel reclaims
  // before it kills), as admission counts it.
  virtual Result<uint64_t> sandboxes_memory_in_use() const = 0;
  // Caps what they use together, so a burst past admission's estimates
  // meets the OOM killer inside the sandboxes rather than the host's.
  virtual Status cap_sandboxes_memory(uint64_t bytes) = 0;
};

// The value of `key` in a flat-keyed cgroup file ("key value" per line:
// memory.stat, cpu.stat, memory.events, memory.oom_control); 0 if absent.
uint64_t cgroup_stat_field(const std::string& text, const std::string& key);

// v2 when `root` is a cgroup2 mount (or, for tests, has cgroup.controllers),
// otherwise v1 with memory, cpu, cpuacct, pids and freezer hierarchies.
// `parent` is the group under which sandboxes are created ("soulbox").
Result<std::unique_ptr<CgroupDriver>> detect_cgroup_driver(const std::string& root, const std::string& parent);

std::unique_ptr<CgroupDriver> make_cgroup_v2_driver(const std::string& root, const std::string& parent);
std::unique_ptr<CgroupDriver> make_cgroup_v1_driver(const std::string& root, const std::string& parent);

}  // namespace soulbox::isolation
