#include "actors/node_admission.h"

#include <sys/sysinfo.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/log.h"

namespace soulbox::actors {
namespace {

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

std::string cores(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", n);
  return buf;
}

Error exhausted(const AdmissionSettings& s, const std::string& what) {
  return Error{ErrorCode::resource_exhausted, "node " + s.node_id + " " + what + "; retry later or on another node"};
}

}  // namespace

AdmissionSettings resolve_admission(AdmissionSettings s) {
  if (s.cpu_capacity <= 0) s.cpu_capacity = double(::get_nprocs());
  if (!s.memory_capacity_bytes) {
    struct sysinfo si {};
    ::sysinfo(&si);
    const uint64_t total = uint64_t(si.totalram) * si.mem_unit;
    const uint64_t reserve = std::max<uint64_t>(1ull << 30, total / 20);
    s.memory_capacity_bytes = total > 2 * reserve ? total - reserve : total / 2;
  }
  if (!s.host_memory_floor_bytes) {
    struct sysinfo si {};
    ::sysinfo(&si);
    s.host_memory_floor_bytes = std::max<uint64_t>(256ull << 20, uint64_t(si.totalram) * si.mem_unit / 100);
  }
  return s;
}

uint64_t host_mem_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib << 10;
  return 0;
}

namespace {

// What the host still has for new sandboxes: its available memory above the
// floor, less the sandboxes made since it was read. Unknown: unbounded.
uint64_t host_room(const AdmissionSettings& s, const NodeLoad& load) {
  if (!load.host_available_bytes) return UINT64_MAX;
  const uint64_t taken = s.host_memory_floor_bytes + load.memory_starting_bytes + load.memory_estimated_bytes;
  return load.host_available_bytes > taken ? load.host_available_bytes - taken : 0;
}

}  // namespace

uint64_t memory_free(const AdmissionSettings& s, const NodeLoad& load) {
  const uint64_t used = load.memory_used();
  const uint64_t under_capacity = s.memory_capacity_bytes > used ? s.memory_capacity_bytes - used : 0;
  return std::min(under_capacity, host_room(s, load));
}

double cpus_free(const AdmissionSettings& s, const NodeLoad& load) {
  return s.cpu_capacity * s.cpu_overcommit - load.cpus;
}

Status admit(const AdmissionSettings& s, const NodeLoad& load, uint64_t memory_limit, double cpus,
             AdmissionFor purpose) {
  const uint64_t used = load.memory_used();
  if (purpose == AdmissionFor::pool) {
    const double limit = double(s.memory_capacity_bytes) * s.pool_fill_limit;
    if (double(used + s.new_sandbox_memory_bytes) > limit)
      return exhausted(s, "keeps its last memory for user creates (sandboxes use " + mib(used) + " of " +
                              mib(s.memory_capacity_bytes) + "); the warm pool waits");
    const double host_share = double(s.memory_capacity_bytes) * (1 - s.pool_fill_limit);
    if (double(host_room(s, load)) < double(s.new_sandbox_memory_bytes) + host_share)
      return exhausted(s, "keeps the host's last available memory (" + mib(load.host_available_bytes) +
                              ") for user creates; the warm pool waits");
    return {};
  }
  if (memory_limit > s.memory_capacity_bytes)
    return exhausted(s, "gives its sandboxes " + mib(s.memory_capacity_bytes) + " together, less than the " +
                            mib(memory_limit) + " this one asks for");
  if (used + s.new_sandbox_memory_bytes > s.memory_capacity_bytes)
    return exhausted(s, "is short of memory: its sandboxes use " + mib(used) + " of the " +
                            mib(s.memory_capacity_bytes) + " it gives sandboxes, and a new one needs " +
                            mib(s.new_sandbox_memory_bytes));
  if (host_room(s, load) < s.new_sandbox_memory_bytes)
    return exhausted(s, "is short of memory: the host has " + mib(load.host_available_bytes) + " available and keeps " +
                            mib(s.host_memory_floor_bytes) + " of it free (--host-memory-floor); a new sandbox needs " +
                            mib(s.new_sandbox_memory_bytes));
  if (s.memory_overcommit > 0) {
    const double limit = double(s.memory_capacity_bytes) * s.memory_overcommit;
    if (double(load.memory_limits_bytes + memory_limit) > limit)
      return exhausted(s, "has promised its sandboxes " + mib(load.memory_limits_bytes) +
                              " of memory limits; a sandbox of " + mib(memory_limit) +
                              " would pass its overcommit of " + cores(s.memory_overcommit) + " x " +
                              mib(s.memory_capacity_bytes));
  }
  if (s.cpu_overcommit > 0 && cpus_free(s, load) + 1e-9 < cpus)
    return exhausted(s, "has promised its sandboxes " + cores(load.cpus) + " cpus of " +
                            cores(s.cpu_capacity * s.cpu_overcommit) + " (" + cores(s.cpu_capacity) + " cores x " +
                            cores(s.cpu_overcommit) + "); this sandbox asks for " + cores(cpus));
  return {};
}

NodeAdmission::NodeAdmission(AdmissionSettings settings, Measure measure, HostAvailable host_available)
    : settings_(std::move(settings)), measure_(std::move(measure)), host_available_(std::move(host_available)) {}

Status NodeAdmission::reserve(uint64_t memory_limit, double cpus, AdmissionFor purpose) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto ok = admit(settings_, load_, memory_limit, cpus, purpose); !ok) return ok;
  load_.memory_starting_bytes += settings_.new_sandbox_memory_bytes;
  if (purpose == AdmissionFor::user) {
    load_.memory_limits_bytes += memory_limit;
    load_.cpus += cpus;
  }
  return {};
}

void NodeAdmission::made(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t estimate = std::min(load_.memory_starting_bytes, settings_.new_sandbox_memory_bytes);
  load_.memory_starting_bytes -= estimate;
  if (!ok) return;
  load_.memory_estimated_bytes += estimate;
  estimated_since_measure_ += estimate;
}

void NodeAdmission::release(uint64_t memory_limit, double cpus) {
  std::lock_guard<std::mutex> lock(mu_);
  load_.memory_limits_bytes -= std::min(load_.memory_limits_bytes, memory_limit);
  load_.cpus = std::max(0.0, load_.cpus - cpus);
}

void NodeAdmission::measure() {
  // Read outside the lock: creates go on while the cgroup file is read.
  auto used = measure_();
  const uint64_t host_available = host_available_ ? host_available_() : 0;
  std::lock_guard<std::mutex> lock(mu_);
  load_.host_available_bytes = host_available;
  if (!used) {  // keep the last reading; estimates keep adding up, so the node errs on refusing
    if (!measure_failing_)
      logger("admission")
          ->error("reading what the sandboxes use failed: {}; new sandboxes count {} MiB each until it works",
                  used.error().message, settings_.new_sandbox_memory_bytes >> 20);
    measure_failing_ = true;
    return;
  }
  if (measure_failing_) logger("admission")->info("reading what the sandboxes use works again");
  measure_failing_ = false;
  load_.memory_measured_bytes = *used;
  load_.memory_estimated_bytes = estimated_since_measure_;
  estimated_since_measure_ = 0;
}

NodeLoad NodeAdmission::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_;
}

}  // namespace soulbox::actors
