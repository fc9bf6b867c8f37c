// Whether a node takes one more sandbox: by the memory its sandboxes really
// use, not by their limits. A sandbox's limits stay hard caps in its cgroup;
// an idle one uses well under its limit, so counting limits would leave a
// node nearly empty (a 24 GiB node held 41 sandboxes of E2B's default
// 512 MiB). What the sandboxes use together is measured once a second from
// their parent cgroup; a sandbox created since the last measurement counts
// an estimate until the next one sees it. The parent cgroup is capped at the
// same capacity, so a burst of real use past the estimates meets the
// kernel's OOM killer inside the sandboxes, never the host's.
//
// Shared by the node actor (user creates, heartbeats) and the pool actor
// (refills), so it is guarded by a mutex; the policy itself is the pure
// function admit().
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "common/result.h"

namespace soulbox::actors {

struct AdmissionSettings {
  std::string node_id;
  // What sandboxes may use together: the host's memory minus a reserve for
  // soulboxd, nats-server and the system. The sandboxes' parent cgroup is
  // capped at this.
  uint64_t memory_capacity_bytes = 0;
  // Memory a new sandbox counts until a measurement includes it.
  uint64_t new_sandbox_memory_bytes = 8ull << 20;
  // The sum of memory limits may reach capacity x this; 0: limits are not
  // counted (real use alone decides).
  double memory_overcommit = 0;
  double cpu_capacity = 0;  // cores
  // The sum of cpus may reach cpu_capacity x this; 0: CPU is not reserved
  // (each sandbox's quota still caps it; cores are shared).
  double cpu_overcommit = 0;
  // Warm pools refill only while the sandboxes use less than this share of
  // the capacity, so the last room is left to user creates.
  double pool_fill_limit = 0.9;
  // The host's available memory (MemAvailable) the node never admits into:
  // what the host itself uses (other processes, tmpfs, soulboxd's own
  // growth) is not in the sandboxes' cgroup, so the capacity alone could
  // admit sandboxes into memory the host no longer has. 0 at resolve: max(256
  // MiB, 1 % of the host's memory).
  uint64_t host_memory_floor_bytes = 0;
};

// Fills in capacities of 0: every online core; the host's memory minus a
// reserve of max(1 GiB, 5 %) for soulboxd, nats-server and the system; the
// host floor.
AdmissionSettings resolve_admission(AdmissionSettings settings);

// What the node's sandboxes take now.
struct NodeLoad {
  uint64_t memory_measured_bytes = 0;   // working set of all sandboxes at the last measurement
  uint64_t memory_starting_bytes = 0;   // sandboxes being made: an estimate each until made
  uint64_t memory_estimated_bytes = 0;  // sandboxes made but not in that measurement yet
  uint64_t memory_limits_bytes = 0;     // sum of the running sandboxes' limits
  uint64_t host_available_bytes = 0;    // the host's MemAvailable at the last measurement (0: unknown)
  double cpus = 0;                      // sum of the running sandboxes' cpus
  uint64_t memory_used() const { return memory_measured_bytes + memory_starting_bytes + memory_estimated_bytes; }
};

enum class AdmissionFor { user, pool };

// MemAvailable from /proc/meminfo, in bytes (0 if unreadable).
uint64_t host_mem_available();

// ok, or resource_exhausted naming what is short, with the figures.
Status admit(const AdmissionSettings& settings, const NodeLoad& load, uint64_t memory_limit_bytes, double cpus,
             AdmissionFor purpose);

// Memory still open to new sandboxes: capacity minus what they use, and no
// more than the host has available above its floor (minus the sandboxes made
// since that reading).
uint64_t memory_free(const AdmissionSettings& settings, const NodeLoad& load);

// CPU still open: capacity x overcommit minus the sum of cpus; meaningful
// only when cpu_overcommit > 0.
double cpus_free(const AdmissionSettings& settings, const NodeLoad& load);

class NodeAdmission {
 public:
  // Reads the working set of all sandboxes (their parent cgroup).
  using Measure = std::function<Result<uint64_t>()>;
  // Reads the host's available memory (0: unknown, not counted).
  using HostAvailable = std::function<uint64_t()>;
  NodeAdmission(AdmissionSettings settings, Measure measure, HostAvailable host_available = host_mem_available);

  const AdmissionSettings& settings() const { return settings_; }

  // Admits and counts the sandbox at once, so two creates cannot both take
  // the last room: its estimate always, its limits and cpus for a user's
  // sandbox (warm ones count by use only). Every reserve() is followed by
  // made() once the create ends, and release() gives the limits back when
  // the sandbox ends or its create fails.
  Status reserve(uint64_t memory_limit_bytes, double cpus, AdmissionFor purpose);
  void made(bool ok);
  void release(uint64_t memory_limit_bytes, double cpus);
  // Called once a second. A made sandbox's estimate is kept until a reading
  // that started after the interval it was made in, so its memory is never
  // counted by neither (a create may take longer than a second).
  void measure();
  NodeLoad load() const;

 private:
  AdmissionSettings settings_;
  Measure measure_;
  HostAvailable host_available_;
  mutable std::mutex mu_;
  NodeLoad load_;
  uint64_t estimated_since_measure_ = 0;  // bytes of sandboxes made since the last reading
  bool measure_failing_ = false;          // logged once per run of failures
};

}  // namespace soulbox::actors
