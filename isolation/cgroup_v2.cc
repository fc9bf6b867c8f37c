// cgroup v2: one directory per sandbox under <root>/<parent>, controllers
// memory, cpu and pids enabled from the root down.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "isolation/cgroup.h"
#include "isolation/fs_util.h"

namespace soulbox::isolation {
namespace {

class CgroupV2 final : public Cgroup {
 public:
  explicit CgroupV2(std::string dir) : dir_(std::move(dir)) {}
  ~CgroupV2() override = default;

  Status attach(pid_t pid) override { return write_control(dir_ + "/cgroup.procs", std::to_string(pid)); }
  Status freeze() override { return write_control(dir_ + "/cgroup.freeze", "1"); }
  Status thaw() override { return write_control(dir_ + "/cgroup.freeze", "0"); }

  Status kill_all() override {
    // cgroup.kill (5.14+) kills atomically, even a forking group.
    if (write_control(dir_ + "/cgroup.kill", "1")) return wait_empty();
    for (int round = 0; round < 100; ++round) {
      auto procs = read_small_file(dir_ + "/cgroup.procs");
      if (!procs) return procs.error();
      if (procs->empty()) return {};
      (void)freeze();
      std::istringstream in(*procs);
      pid_t pid = 0;
      while (in >> pid) ::kill(pid, SIGKILL);
      (void)thaw();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return Error{ErrorCode::internal, "processes survive in " + dir_};
  }

  bool memory_limit_reached_since_last_check() override {
    auto events = read_small_file(dir_ + "/memory.events");
    if (!events) return false;
    const uint64_t ooms = cgroup_stat_field(*events, "oom");
    const bool reached = ooms > ooms_seen_;
    ooms_seen_ = ooms;
    return reached;
  }

  Result<CgroupUsage> usage() const override {
    CgroupUsage u;
    if (auto v = read_u64(dir_ + "/memory.current")) u.memory_current = *v;
    if (auto v = read_u64(dir_ + "/memory.peak")) u.memory_peak = *v;
    if (auto v = read_u64(dir_ + "/pids.current")) u.pids_current = *v;
    if (auto t = read_small_file(dir_ + "/cpu.stat")) u.cpu_usec = cgroup_stat_field(*t, "usage_usec");
    if (auto t = read_small_file(dir_ + "/memory.events")) u.oom_kills = cgroup_stat_field(*t, "oom_kill");
    // "<major>:<minor> rbytes=N wbytes=N ..." per device; absent without the io controller.
    if (auto t = read_small_file(dir_ + "/io.stat")) {
      std::istringstream words(*t);
      std::string word;
      while (words >> word) {
        if (word.rfind("rbytes=", 0) == 0) u.io_read_bytes += std::strtoull(word.c_str() + 7, nullptr, 10);
        if (word.rfind("wbytes=", 0) == 0) u.io_write_bytes += std::strtoull(word.c_str() + 7, nullptr, 10);
      }
    }
    return u;
  }

  Status remove() override {
    for (int i = 0; i < 200; ++i) {
      if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return {};
      if (errno != EBUSY) return sys_error("rmdir " + dir_);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return sys_error("rmdir " + dir_, EBUSY);
  }

 private:
  Status wait_empty() {
    for (int i = 0; i < 400; ++i) {
      auto procs = read_small_file(dir_ + "/cgroup.procs");
      if (!procs || procs->empty()) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Error{ErrorCode::internal, "processes survive cgroup.kill in " + dir_};
  }

  std::string dir_;
  uint64_t ooms_seen_ = 0;  // memory.events "oom" at the last check
};

class CgroupV2Driver final : public CgroupDriver {
 public:
  CgroupV2Driver(std::string root, std::string parent) : root_(std::move(root)), parent_dir_(root_ + "/" + parent) {}

  Result<std::unique_ptr<Cgroup>> create(const std::string& name, const CgroupLimits& limits) override {
    if (auto st = prepare_parent(); !st) return st.error();
    const std::string dir = parent_dir_ + "/" + name;
    if (auto st = ensure_dir(dir); !st) return st.error();
    auto group = std::make_unique<CgroupV2>(dir);
    const uint64_t quota = uint64_t(std::llround(limits.cpus * 100000.0));
    const std::pair<const char*, std::string> settings[] = {
        {"memory.max", std::to_string(limits.memory_bytes)},
        {"memory.swap.max", "0"},
        {"cpu.max", std::to_string(quota) + " 100000"},
        {"pids.max", std::to_string(limits.pids)},
    };
    for (const auto& [file, value] : settings) {
      auto st = write_control(dir + "/" + file, value);
      // memory.swap.max is absent when swap accounting is off: then there is no swap to limit.
      if (!st && std::string(file) != "memory.swap.max") {
        (void)group->remove();
        return st.error();
      }
    }
    return std::unique_ptr<Cgroup>(std::move(group));
  }

  std::unique_ptr<Cgroup> open(const std::string& name) override {
    return std::make_unique<CgroupV2>(parent_dir_ + "/" + name);
  }

  const char* version() const override { return "v2"; }

  Result<uint64_t> sandboxes_memory_in_use() const override {
    auto current = read_u64(parent_dir_ + "/memory.current");
    if (!current) return current.error();
    auto stat = read_small_file(parent_dir_ + "/memory.stat");
    if (!stat) return stat.error();
    const uint64_t inactive = cgroup_stat_field(*stat, "inactive_file");
    return *current > inactive ? *current - inactive : 0;
  }

  Status cap_sandboxes_memory(uint64_t bytes) override {
    if (auto st = prepare_parent(); !st) return st;
    return write_control(parent_dir_ + "/memory.max", std::to_string(bytes));
  }

 private:
  // Enables the controllers SoulBox needs on the root and on its parent group,
  // once per driver.
  Status prepare_parent() {
    if (prepared_) return {};
    if (auto st = ensure_dir(parent_dir_); !st) return st;
    for (const std::string& dir : {root_, parent_dir_}) {
      auto st = write_control(dir + "/cgroup.subtree_control", "+memory +cpu +pids");
      if (!st) {
        logger("isolation")->warn("enabling controllers in {}: {}", dir, st.error().message);
        return st;
      }
    }
    prepared_ = true;
    return {};
  }

  std::string root_;
  std::string parent_dir_;
  bool prepared_ = false;
};

}  // namespace

std::unique_ptr<CgroupDriver> make_cgroup_v2_driver(const std::string& root, const std::string& parent) {
  return std::make_unique<CgroupV2Driver>(root, parent);
}

}  // namespace soulbox::isolation
