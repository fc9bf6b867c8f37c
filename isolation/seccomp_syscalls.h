// The x86_64 system calls a sandbox may make without argument checks: the
// allowlist half of the seccomp policy (seccomp_policy.cc adds the calls
// allowed only with certain arguments). docs/SECURITY.md holds the same
// table; tests/security/seccomp_table_test.cc checks the compiled filter
// against it.
#pragma once

namespace soulbox::isolation {

struct SyscallName {
  const char* name;
  int nr;  // x86_64 number
};

// Allowed unconditionally.
extern const SyscallName kAllowedSyscalls[];
extern const int kAllowedSyscallCount;

// Numbers at or above this are newer than the policy: they answer ENOSYS
// (so libc falls back to an older call) until someone reviews them. Every
// number below it that no rule allows answers EPERM.
constexpr int kFirstUnknownSyscall = 470;

}  // namespace soulbox::isolation
