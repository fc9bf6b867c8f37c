// cgroup v1: one directory per sandbox in each of the memory, cpu, cpuacct,
// pids and freezer hierarchies (cpu and cpuacct may be one co-mounted tree).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <sstream>
#include <thread>
#include <vector>

#include "isolation/cgroup.h"
#include "isolation/fs_util.h"

namespace soulbox::isolation {
namespace {

struct V1Dirs {
  std::string memory, cpu, cpuacct, pids, freezer;
  std::string blkio;  // empty when the host has no blkio hierarchy (disk metrics only)
  // Distinct directories (cpu and cpuacct may coincide), for attach/remove.
  std::vector<std::string> unique() const {
    std::vector<std::string> out;
    for (const auto* d : {&memory, &cpu, &cpuacct, &pids, &freezer, &blkio}) {
      if (d->empty()) continue;
      bool seen = false;
      for (const auto& o : out) seen = seen || o == *d;
      if (!seen) out.push_back(*d);
    }
    return out;
  }
};

class CgroupV1 final : public Cgroup {
 public:
  explicit CgroupV1(V1Dirs dirs) : dirs_(std::move(dirs)) {}

  Status attach(pid_t pid) override {
    const std::string p = std::to_string(pid);
    for (const auto& dir : dirs_.unique())
      if (auto st = write_control(dir + "/cgroup.procs", p); !st) return st;
    return {};
  }

  // The v1 freezer can stay in FREEZING when it races with tasks that are
  // forking or in a vfork (runc works around it the same way): give each
  // attempt 100 ms, thaw, and try again.
  Status freeze() override {
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (auto st = write_control(dirs_.freezer + "/freezer.state", "FROZEN"); !st) return st;
      for (int i = 0; i < 60; ++i) {
        auto state = read_small_file(dirs_.freezer + "/freezer.state");
        if (!state) return state.error();
        if (state->rfind("FROZEN", 0) == 0) return {};
        std::this_thread::sleep_for(std::chrono::microseconds(i < 20 ? 100 : 2000));
      }
      (void)thaw();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Error{ErrorCode::timeout, "freezer did not reach FROZEN after 20 attempts in " + dirs_.freezer};
  }

  Status thaw() override { return write_control(dirs_.freezer + "/freezer.state", "THAWED"); }

  // v1 has no cgroup.kill: freeze so nothing forks, kill every member, thaw so
  // the signals are delivered, repeat until the group is empty.
  Status kill_all() override {
    for (int round = 0; round < 400; ++round) {
      auto procs = read_small_file(dirs_.pids + "/cgroup.procs");
      if (!procs) return procs.error();
      if (procs->empty()) return {};
      (void)freeze();
      auto frozen_procs = read_small_file(dirs_.pids + "/cgroup.procs");
      std::istringstream in(frozen_procs ? *frozen_procs : *procs);
      pid_t pid = 0;
      while (in >> pid) ::kill(pid, SIGKILL);
      (void)thaw();
      std::this_thread::sleep_for(std::chrono::milliseconds(round < 10 ? 1 : 5));
    }
    return Error{ErrorCode::internal, "processes survive in " + dirs_.pids};
  }

  Result<CgroupUsage> usage() const override {
    CgroupUsage u;
    if (auto v = read_u64(dirs_.memory + "/memory.usage_in_bytes")) u.memory_current = *v;
    if (auto v = read_u64(dirs_.memory + "/memory.max_usage_in_bytes")) u.memory_peak = *v;
    if (auto v = read_u64(dirs_.cpuacct + "/cpuacct.usage")) u.cpu_usec = *v / 1000;
    if (auto v = read_u64(dirs_.pids + "/pids.current")) u.pids_current = *v;
    if (!dirs_.blkio.empty()) {
      // "<major>:<minor> Read <bytes>" per device, then "Total <bytes>".
      if (auto t = read_small_file(dirs_.blkio + "/blkio.throttle.io_service_bytes")) {
        std::istringstream lines(*t);
        std::string device, op;
        uint64_t bytes = 0;
        while (lines >> device >> op >> bytes) {
          if (op == "Read") u.io_read_bytes += bytes;
          if (op == "Write") u.io_write_bytes += bytes;
        }
      }
    }
    if (auto t = read_small_file(dirs_.memory + "/memory.oom_control")) u.oom_kills = cgroup_stat_field(*t, "oom_kill");
    return u;
  }

  // v1's failcnt is not kept by recent kernels; the peak is, and writing
  // 0 restarts it from the current usage.
  bool memory_limit_reached_since_last_check() override {
    auto peak = read_u64(dirs_.memory + "/memory.max_usage_in_bytes");
    auto limit = read_u64(dirs_.memory + "/memory.limit_in_bytes");
    (void)write_control(dirs_.memory + "/memory.max_usage_in_bytes", "0");
    return peak && limit && *peak >= *limit - *limit / 50;
  }

  Status remove() override {
    for (const auto& dir : dirs_.unique()) {
      int i = 0;
      while (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
        if (errno != EBUSY || ++i > 200) return sys_error("rmdir " + dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return {};
  }

 private:
  V1Dirs dirs_;
};

class CgroupV1Driver final : public CgroupDriver {
 public:
  CgroupV1Driver(std::string root, std::string parent) : root_(std::move(root)), parent_(std::move(parent)) {}

  std::unique_ptr<Cgroup> open(const std::string& name) override { return std::make_unique<CgroupV1>(dirs(name)); }

  Result<std::unique_ptr<Cgroup>> create(const std::string& name, const CgroupLimits& limits) override {
    const V1Dirs d = dirs(name);
    for (const auto& path : d.unique()) {
      if (auto st = ensure_dir(parent_of(path)); !st) return st.error();
      if (auto st = ensure_dir(path); !st) return st.error();
    }
    auto group = std::make_unique<CgroupV1>(d);
    const uint64_t quota = uint64_t(std::llround(limits.cpus * 100000.0));
    Status st = write_control(d.memory + "/memory.limit_in_bytes", std::to_string(limits.memory_bytes));
    // Swap: memsw (mem+swap) equal to the memory limit means no swap at all;
    // without swap accounting, swappiness 0 is the best v1 offers.
    if (st && !write_control(d.memory + "/memory.memsw.limit_in_bytes", std::to_string(limits.memory_bytes)))
      (void)write_control(d.memory + "/memory.swappiness", "0");
    // cpu.cfs_period_us of a new group is already 100000 (100 ms).
    if (st) st = write_control(d.cpu + "/cpu.cfs_quota_us", std::to_string(quota));
    if (st) st = write_control(d.pids + "/pids.max", std::to_string(limits.pids));
    if (!st) {
      (void)group->remove();
      return st.error();
    }
    return std::unique_ptr<Cgroup>(std::move(group));
  }

  const char* version() const override { return "v1"; }

  Result<uint64_t> sandboxes_memory_in_use() const override {
    const std::string parent = parent_dir("memory");
    auto usage = read_u64(parent + "/memory.usage_in_bytes");
    if (!usage) return usage.error();
    auto stat = read_small_file(parent + "/memory.stat");
    if (!stat) return stat.error();
    const uint64_t inactive = cgroup_stat_field(*stat, "total_inactive_file");
    return *usage > inactive ? *usage - inactive : 0;
  }

  // The parent's limit caps the children together only when the kernel
  // counts them in it (use_hierarchy, always on since Linux 5.11).
  Status cap_sandboxes_memory(uint64_t bytes) override {
    const std::string parent = parent_dir("memory");
    if (auto st = ensure_dir(parent); !st) return st;
    if (auto h = read_u64(parent + "/memory.use_hierarchy"); h && *h == 0)
      return Error{ErrorCode::unavailable, parent +
                                               "/memory.use_hierarchy is 0: the sandboxes' memory cannot be "
                                               "capped together (set it to 1 before any group exists below)"};
    return write_control(parent + "/memory.limit_in_bytes", std::to_string(bytes));
  }

 private:
  std::string parent_dir(const char* controller) const {
    const std::string d = dir(controller, "x");
    return parent_of(d);
  }

  V1Dirs dirs(const std::string& name) const {
    const bool blkio = ::access((root_ + "/blkio").c_str(), F_OK) == 0;
    return V1Dirs{dir("memory", name), dir("cpu", name),     dir("cpuacct", name),
                  dir("pids", name),   dir("freezer", name), blkio ? dir("blkio", name) : std::string()};
  }

  std::string dir(const char* controller, const std::string& name) const {
    // Resolve co-mounts (cpu -> cpu,cpuacct) so both names map to one tree.
    char real[PATH_MAX];
    const std::string mount = root_ + "/" + controller;
    const std::string base = ::realpath(mount.c_str(), real) ? std::string(real) : mount;
    return base + "/" + parent_ + "/" + name;
  }
  static std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

  std::string root_;
  std::string parent_;
};

}  // namespace

std::unique_ptr<CgroupDriver> make_cgroup_v1_driver(const std::string& root, const std::string& parent) {
  return std::make_unique<CgroupV1Driver>(root, parent);
}

}  // namespace soulbox::isolation
