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

// Builds the policy: Docker's default profile for a capability-less
// container, plus: no ptrace/process_vm_*, no namespace creation, clone3 ->
// ENOSYS, no io_uring/userfaultfd/bpf/perf/keyring, AF_ALG/AF_VSOCK/packet/
// raw sockets refused, TIOCSTI/TIOCLINUX refused on the low 32 bits of the
// command, personality filtered, i386/x32 killed, syscall numbers newer than
// this build -> ENOSYS.
Result<SeccompProgram> build_seccomp_program();

// Async-signal-safe: sets no_new_privs and installs the program on the
// calling thread. Returns 0 or an errno.
int install_seccomp_program(const SeccompProgram& program) noexcept;

}  // namespace soulbox::isolation
