#include <sys/statfs.h>
#include <unistd.h>

#include <sstream>

#include "isolation/cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace soulbox::isolation {

uint64_t cgroup_stat_field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

Result<std::unique_ptr<CgroupDriver>> detect_cgroup_driver(const std::string& root, const std::string& parent) {
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0) return sys_error("statfs " + root);
  const bool v2_mount = fs.f_type == CGROUP2_SUPER_MAGIC;
  if (v2_mount || ::access((root + "/cgroup.controllers").c_str(), F_OK) == 0)
    return make_cgroup_v2_driver(root, parent);
  for (const char* ctl : {"memory", "cpu", "pids", "freezer"}) {
    if (::access((root + "/" + ctl).c_str(), F_OK) != 0)
      return Error{ErrorCode::unavailable, "no cgroup2 at " + root + " and no cgroup v1 '" + ctl +
                                               "' hierarchy: SoulBox needs memory, cpu, pids and freezer controllers"};
  }
  return make_cgroup_v1_driver(root, parent);
}

}  // namespace soulbox::isolation
