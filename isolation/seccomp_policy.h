// The sandbox's seccomp filter: built once with libseccomp, exported as
// classic BPF, and installed in each new sandbox with one prctl (no
// libseccomp call after fork). See docs/SECURITY.md for what it refuses.
#pragma once
#include <linux/filter.h>

#include <vector>

#include "common/result.h"

namespace soulbox::isolation {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
};

// Builds the policy: an allowlist anchored on Docker's default profile for a
// capability-less container (isolation/seccomp_syscalls.cc), stricter where
// docs/SECURITY.md says; clone without namespace flags, socket/socketpair
// families, personality values and ioctl's TIOCSTI/TIOCLINUX checked on the
// width the kernel reads; clone3 and numbers newer than the policy ->
// ENOSYS; everything else -> EPERM; i386/x32 killed.
Result<SeccompProgram> build_seccomp_program();

// Async-signal-safe: sets no_new_privs and installs the program on the
// calling thread. Returns 0 or an errno.
int install_seccomp_program(const SeccompProgram& program) noexcept;

}  // namespace soulbox::isolation
