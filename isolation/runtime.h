// The isolation runtime: everything prepared once per process (seccomp BPF,
// the sealed agent image, the cgroup driver, templates, id ranges) and the
// create() that turns a SandboxSpec into a running Sandbox.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "isolation/cgroup.h"
#include "isolation/netns_pool.h"
#include "isolation/sandbox.h"
#include "isolation/sandbox_spec.h"
#include "isolation/seccomp_policy.h"
#include "isolation/template_store.h"
#include "isolation/userns.h"

namespace soulbox::isolation {

struct RuntimeOptions {
  std::string data_dir = "/var/lib/soulbox";  // templates/, sandboxes/
  std::string run_dir = "/run/soulbox";       // id-slot leases
  std::string agent_path;                     // empty: next to this executable
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "soulbox";
  uint64_t agent_output_limit = 16ull << 20;  // per process and stream
  int netns_pool = 4;                         // network namespaces made ahead; 0: one per create
  bool prepared_dev = true;                   // bind a prepared /dev (false: tmpfs + node binds)
};

class Runtime {
 public:
  static Result<std::unique_ptr<Runtime>> open(const RuntimeOptions& options);

  // Creates a sandbox whose agent has exec'd (its Hello is on the channel).
  Result<std::unique_ptr<Sandbox>> create(const SandboxSpec& spec);

  const char* cgroup_version() const { return cgroups_->version(); }

  // Removes what sandboxes of a crashed process left behind: scratch dirs
  // whose lock is free, and their cgroups. Runs at open(); returns the count.
  size_t collect_stale();
  const RuntimeOptions& options() const { return options_; }

 private:
  Runtime(RuntimeOptions options, SeccompProgram seccomp, unique_fd agent_image, std::unique_ptr<CgroupDriver> cgroups,
          std::optional<NetnsPool> netns, unique_fd host_netns);

  RuntimeOptions options_;
  SeccompProgram seccomp_;
  unique_fd agent_image_;
  std::unique_ptr<CgroupDriver> cgroups_;
  TemplateStore templates_;
  IdRangeAllocator ids_;
  std::optional<NetnsPool> netns_;
  unique_fd host_netns_;
  std::string dev_skeleton_;
};

}  // namespace soulbox::isolation
