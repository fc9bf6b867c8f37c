// The sandbox's filesystem view, built inside the new mount namespace by the
// cloned child (see launcher.cc) and then made its root with pivot_root.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "isolation/sandbox_spec.h"

namespace soulbox::isolation {

struct RootfsPlan {
  std::string scratch_dir;       // host dir: a size-capped tmpfs is mounted here
                                 // (only inside the sandbox's mount namespace)
  std::string lower_dir;         // template rootfs, the read-only overlay layer
  std::vector<BindMount> binds;  // template binds, then the caller's
  std::string dev_skeleton;      // prepared /dev (see make_dev_skeleton); empty:
                                 // build /dev from a tmpfs and per-node binds
  uint64_t disk_bytes = 0;
  uint64_t disk_inodes = 0;
  uint64_t tmp_bytes = 0;
  uint64_t tmp_inodes = 0;
  uint32_t ptys = 0;
};

// Runs in the cloned child as root of its user namespace. Returns 0 or an
// errno, with *step naming what failed.
int build_rootfs_and_pivot(const RootfsPlan& plan, std::string* step);

// Prepares (once, as host root) a directory holding /dev's device nodes,
// mount points and symlinks, so each sandbox binds one directory instead of
// mounting a tmpfs and binding six nodes. Returns "" when the directory's
// filesystem is mounted nodev (device nodes would not work from it).
std::string make_dev_skeleton(const std::string& parent_dir);

// Brings the loopback interface of the child's new network namespace up.
int bring_loopback_up(std::string* step);

}  // namespace soulbox::isolation
