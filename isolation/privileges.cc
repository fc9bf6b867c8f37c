#include "isolation/privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <initializer_list>

namespace soulbox::isolation {
namespace {

int last_cap() noexcept {
  // CAP_LAST_CAP of the headers may be older than the kernel: probe upward.
  int cap = CAP_LAST_CAP;
  while (cap < 63 && ::prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) ++cap;
  return cap;
}

int set_caps(uint64_t permitted_effective) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].permitted = data[0].effective = uint32_t(permitted_effective);
  data[1].permitted = data[1].effective = uint32_t(permitted_effective >> 32);
  return ::syscall(SYS_capset, &header, data) == 0 ? 0 : errno;
}

}  // namespace

uint64_t agent_capability_mask() noexcept {
  uint64_t mask = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
                  CAP_SETUID, CAP_SETPCAP})
    mask |= 1ull << cap;
  return mask;
}

int drop_bounding_set_except(uint64_t keep) noexcept {
  const int last = last_cap();
  for (int cap = 0; cap <= last; ++cap) {
    if (keep & (1ull << cap)) continue;
    // Each drop allocates new credentials (~2 µs): drop only what is there.
    // Reading is cheap, and inside the agent most caps are already gone.
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  }
  return 0;
}

int drop_to_user(uint32_t uid, uint32_t gid) noexcept {
  if (int err = drop_bounding_set_except(0)) return err;
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  // NOROOT: uid 0 gets no capabilities from exec. Locked so code inside
  // cannot undo it.
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                             SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return errno;
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
  if (::syscall(SYS_setresgid, gid, gid, gid) != 0) return errno;
  if (::syscall(SYS_setresuid, uid, uid, uid) != 0) return errno;
  return set_caps(0);
}

int apply_rlimits(const RlimitSettings& limits) noexcept {
  const struct {
    int resource;
    uint64_t value;
  } table[] = {
      {RLIMIT_CORE, 0},
      {RLIMIT_NOFILE, limits.nofile},
      {RLIMIT_FSIZE, limits.fsize_bytes},
      {RLIMIT_NPROC, limits.nproc},
  };
  for (const auto& entry : table) {
    struct rlimit rl {
      entry.value, entry.value
    };
    if (::setrlimit(entry.resource, &rl) != 0) return errno;
  }
  return 0;
}

}  // namespace soulbox::isolation
