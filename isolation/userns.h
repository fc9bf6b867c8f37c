// User namespaces: each sandbox maps its uids 0..65535 onto a host range of
// its own, so per-uid kernel limits (RLIMIT_NPROC, inotify, keys) and file
// ownership never leak between sandboxes or onto real host users.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::isolation {

inline constexpr uint32_t kIdsPerSandbox = 65536;
inline constexpr uint32_t kSandboxUser = 1000;  // uid and gid of `user` inside

// A leased host id range; the lease is an flock held on a slot file, so
// several processes (daemon, CLI, tests) can allocate concurrently.
struct IdRange {
  uint32_t host_base = 0;
  unique_fd lease;
};

class IdRangeAllocator {
 public:
  // `lock_dir` holds one lock file per slot (e.g. /run/soulbox/id-slots).
  IdRangeAllocator(std::string lock_dir, uint32_t first_host_id, uint32_t slots);
  Result<IdRange> acquire();

 private:
  std::string lock_dir_;
  uint32_t first_host_id_;
  uint32_t slots_;
  uint32_t next_ = 0;
};

// Writes "0 <base> 65536" to /proc/<pid>/{uid,gid}_map of a child that waits
// in the launcher handshake (so its pid cannot be reused meanwhile).
Status write_id_maps(pid_t pid, uint32_t host_base);

}  // namespace soulbox::isolation
