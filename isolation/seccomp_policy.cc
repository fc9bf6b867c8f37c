#include "isolation/seccomp_policy.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/scope_guard.h"
#include "common/unique_fd.h"
#include "isolation/seccomp_syscalls.h"

namespace soulbox::isolation {
namespace {

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET;  // = 0x7E020000, as Docker
// The kernel reads int and unsigned int arguments as 32 bits: a comparison
// of the full register would let bits 32-63 slip a value past the rule.
constexpr uint64_t kLow32 = 0xffffffffULL;

// A rule comparing an int argument, on the 32 bits the kernel reads.
scmp_arg_cmp int_arg_is(unsigned arg, uint64_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, kLow32, value};
}

// libseccomp must agree with the table where it knows a name (it predates
// the newest calls, which it cannot resolve).
Status check_listed_numbers() {
  for (int i = 0; i < kAllowedSyscallCount; ++i) {
    const SyscallName& call = kAllowedSyscalls[i];
    const int known = seccomp_syscall_resolve_name(call.name);
    if ((known != __NR_SCMP_ERROR && known != call.nr) || call.nr >= kFirstUnknownSyscall)
      return Error{ErrorCode::internal, std::string("seccomp table: ") + call.name + " is not number " +
                                            std::to_string(call.nr) + " on x86_64"};
  }
  return {};
}

int allow_listed(scmp_filter_ctx ctx) {
  for (int i = 0; i < kAllowedSyscallCount; ++i) {
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, kAllowedSyscalls[i].nr, 0); rc != 0) return rc;
  }
  return 0;
}

// clone without any namespace flag (flags is an unsigned long: all 64 bits
// count). clone3 passes its flags behind a pointer BPF cannot read: ENOSYS,
// and libc falls back to clone.
int add_process_rules(scmp_filter_ctx ctx) {
  if (int rc =
          seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0)))
    return rc;
  if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) return rc;
  // personality: only the values Docker allows (Linux, UNAME26, their 32-bit
  // forms, and the 0xffffffff query); ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC
  // and every other flag are refused.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1, int_arg_is(0, persona))) return rc;
  }
  return 0;
}

// Sockets: Unix, netlink (the namespace's own interfaces are all it sees),
// and TCP/UDP over IPv4 and IPv6. Raw and packet sockets and every other
// family (AF_VSOCK reaches the hypervisor on VM hosts; AF_ALG wrote the page
// cache in "Copy Fail") are refused: known families with EAFNOSUPPORT, as
// a kernel without them would answer, the rest with EPERM.
int add_socket_rules(scmp_filter_ctx ctx) {
  const uint32_t allow = SCMP_ACT_ALLOW;
  for (int family : {AF_UNIX, AF_NETLINK}) {
    if (int rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 1, int_arg_is(0, uint64_t(family)))) return rc;
  }
  for (int family : {AF_INET, AF_INET6}) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      // The low 4 bits of type are the socket type; SOCK_NONBLOCK and
      // SOCK_CLOEXEC sit above them.
      if (int rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 2, int_arg_is(0, uint64_t(family)),
                                    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, uint64_t(type))))
        return rc;
    }
  }
  for (int family = 0; family < AF_MAX; ++family) {
    if (family == AF_UNIX || family == AF_NETLINK || family == AF_INET || family == AF_INET6) continue;
    if (int rc =
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, int_arg_is(0, uint64_t(family))))
      return rc;
  }
  return seccomp_rule_add(ctx, allow, SCMP_SYS(socketpair), 1, int_arg_is(0, AF_UNIX));
}

int add_rules(scmp_filter_ctx ctx) {
  if (int rc = allow_listed(ctx)) return rc;
  if (int rc = add_process_rules(ctx)) return rc;
  if (int rc = add_socket_rules(ctx)) return rc;
  // ioctl is allowed here; TIOCSTI and TIOCLINUX are refused by the prefix
  // (libseccomp cannot express "allow all but these values").
  return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 0);
}

Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
  // libseccomp 2.5 exports only to an fd (seccomp_export_bpf_mem is 2.6+).
  unique_fd mem(::memfd_create("soulbox-seccomp", MFD_CLOEXEC));
  if (!mem) return sys_error("memfd_create");
  if (int rc = seccomp_export_bpf(ctx, mem.get()); rc != 0) return sys_error("seccomp_export_bpf", -rc);
  const off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % off_t(sizeof(sock_filter)) != 0)
    return Error{ErrorCode::internal, "seccomp_export_bpf wrote " + std::to_string(size) + " bytes"};
  std::vector<sock_filter> insns(size_t(size) / sizeof(sock_filter));
  if (::pread(mem.get(), insns.data(), size_t(size), 0) != size) return sys_error("read seccomp bpf");
  return insns;
}

// Runs before libseccomp's program, for what libseccomp cannot say: x86_64
// numbers newer than the policy answer ENOSYS, and ioctl's terminal
// injection requests (TIOCSTI, TIOCLINUX, compared on the low 32 bits the
// kernel reads: CVE-2019-10063) answer EPERM. Other architectures and x32
// numbers (bit 30) go straight to libseccomp's program, which kills them.
std::vector<sock_filter> prefix_checks() {
  constexpr uint32_t kIoctlRequestLow = offsetof(struct seccomp_data, args[1]);  // little-endian low word
  const uint32_t enosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
  const uint32_t eperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  // Jump offsets count from the next instruction; the body starts at 12.
  return {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 10),
      /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 8, 0),
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, uint32_t(kFirstUnknownSyscall), 5, 0),
      /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 6),
      /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIoctlRequestLow),
      /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 3, 0),
      /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 2, 0),
      /* 9 */ BPF_STMT(BPF_JMP | BPF_JA, 2),
      /* 10 */ BPF_STMT(BPF_RET | BPF_K, enosys),
      /* 11 */ BPF_STMT(BPF_RET | BPF_K, eperm),
  };
}

}  // namespace

Result<SeccompProgram> build_seccomp_program() {
  if (auto listed = check_listed_numbers(); !listed) return listed.error();
  // An allowlist: whatever no rule allows answers EPERM, as in Docker.
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return Error{ErrorCode::internal, "seccomp_init failed"};
  auto release = defer([&] { seccomp_release(ctx); });
  // Only the native x86_64 ABI: i386 and x32 calls could bypass argument
  // filters (socketcall), so they kill the process.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0)
    return sys_error("seccomp_attr_set BADARCH", -rc);
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc != 0) return sys_error("seccomp_attr_set NNP", -rc);
  // Binary-tree dispatch keeps install and per-call cost low (bench/RESULTS.md).
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (int rc = add_rules(ctx); rc != 0) return sys_error("seccomp policy", -rc);
  auto body = export_bpf(ctx);
  if (!body) return body.error();
  SeccompProgram program;
  program.instructions = prefix_checks();
  program.instructions.insert(program.instructions.end(), body->begin(), body->end());
  if (program.instructions.size() > BPF_MAXINSNS) return Error{ErrorCode::internal, "seccomp program too long"};
  return program;
}

int install_seccomp_program(const SeccompProgram& program) noexcept {
  struct sock_fprog prog {};
  prog.len = static_cast<unsigned short>(program.instructions.size());
  prog.filter = const_cast<sock_filter*>(program.instructions.data());
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) return errno;
  return 0;
}

}  // namespace soulbox::isolation
