// Capability and rlimit transitions. Every function here is async-signal-safe
// (raw syscalls only): they run in freshly cloned children and in the agent's
// spawn path between clone and exec. Each returns 0 or an errno.
#pragma once
#include <cstdint>

namespace soulbox::isolation {

struct RlimitSettings {
  uint64_t nofile = 1024;
  uint64_t fsize_bytes = 1ull << 30;
  uint64_t nproc = 256;
};

// The capabilities the agent keeps inside its user namespace: enough to run
// processes as `user` or root, manage their files and signal them. Everything
// else (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, MKNOD, ...) leaves the bounding set.
uint64_t agent_capability_mask() noexcept;

// Drops every capability not in `keep` from the bounding set (needs SETPCAP).
int drop_bounding_set_except(uint64_t keep) noexcept;

// Final transition for user code: empty bounding set, no ambient caps,
// securebits locked so that uid 0 inside gains nothing on exec, then the
// target ids, then empty permitted/effective/inheritable sets.
int drop_to_user(uint32_t uid, uint32_t gid) noexcept;

// core 0, nofile, fsize, nproc (nproc counts per host uid, and each sandbox
// owns its host uid range, so it bounds this sandbox alone).
int apply_rlimits(const RlimitSettings& limits) noexcept;

}  // namespace soulbox::isolation
