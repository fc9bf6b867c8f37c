#include "isolation/seccomp_policy.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/scope_guard.h"
#include "common/unique_fd.h"

namespace soulbox::isolation {
namespace {

// Refused with EPERM outright: what Docker's default profile never allows, what
// it allows only with a capability (sandboxes hold none), and what SoulBox
// refuses beyond Docker (ptrace and process_vm_*, which Docker allows on 4.8+).
// clang-format off
constexpr const char* kDenied[] = {
    // kernel keyring (not namespaced), BPF, perf, io_uring (bypasses seccomp),
    // userfaultfd (race amplifier for kernel exploits)
    "add_key", "keyctl", "request_key", "bpf", "perf_event_open", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "userfaultfd",
    // debugging other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    // namespaces and mounts
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    // host-wide state
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "sethostname", "setdomainname",
    "syslog", "quotactl", "quotactl_fd", "vhangup", "iopl", "ioperm", "lookup_dcookie",
    "fanotify_init", "open_by_handle_at", "name_to_handle_at", "nfsservctl",
    // NUMA policy (CAP_SYS_NICE in Docker), obsolete or unimplemented calls
    "mbind", "set_mempolicy", "get_mempolicy", "migrate_pages", "move_pages",
    "set_mempolicy_home_node", "uselib", "ustat", "sysfs", "_sysctl", "create_module",
    "get_kernel_syms", "query_module", "afs_syscall", "tuxcall", "security", "vserver",
    "getpmsg", "putpmsg", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
};
// clang-format on

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET;  // = 0x7E020000, as Docker

// Syscall numbers at or above this (x86_64) did not exist when this policy was
// written; they answer ENOSYS until someone reviews them.
constexpr uint32_t kFirstUnreviewedSyscall = 468;

int add_rules(scmp_filter_ctx ctx) {
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  for (const char* name : kDenied) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not a syscall on this architecture
    if (int rc = seccomp_rule_add(ctx, eperm, nr, 0); rc != 0) return rc;
  }
  // clone with any namespace flag (rules on one syscall are OR'ed). clone3
  // passes its flags behind a pointer BPF cannot read: ENOSYS, and libc falls
  // back to clone.
  for (uint64_t bit = 1; bit != 0; bit <<= 1) {
    if ((kNamespaceFlags & bit) == 0) continue;
    if (int rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit))) return rc;
  }
  if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) return rc;
  // Sockets: AF_ALG (page-cache writes, "Copy Fail"), AF_VSOCK, AF_PACKET;
  // raw IP sockets.
  for (int family : {AF_ALG, AF_VSOCK, AF_PACKET}) {
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, uint64_t(family))))
      return rc;
  }
  // Raw IP sockets (netlink sockets are SOCK_RAW too and stay allowed: the
  // namespace's own interfaces are all they can see).
  for (int family : {AF_INET, AF_INET6}) {
    if (int rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, uint64_t(family)),
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW)))
      return rc;
  }
  // Terminal injection; compare only the low 32 bits, as the kernel does
  // (CVE-2019-10063).
  for (uint64_t request : {uint64_t(TIOCSTI), uint64_t(TIOCLINUX)}) {
    if (int rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, request)))
      return rc;
  }
  // personality: refuse the flags Docker's allow-list excludes
  // (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...). libseccomp has no NOT-IN, so
  // each dangerous bit is one rule. The 0xffffffff query has every bit set
  // and is refused too; ordinary programs never make it.
  for (uint64_t bit :
       {0x0040000ULL /*ADDR_NO_RANDOMIZE*/, 0x0400000ULL /*READ_IMPLIES_EXEC*/, 0x0200000ULL /*ADDR_COMPAT_LAYOUT*/,
        0x0800000ULL /*ADDR_LIMIT_32BIT*/, 0x1000000ULL /*SHORT_INODE*/, 0x4000000ULL /*WHOLE_SECONDS*/,
        0x8000000ULL /*STICKY_TIMEOUTS*/, 0x0100000ULL /*MMAP_PAGE_ZERO*/, 0x0080000ULL /*FDPIC_FUNCPTRS*/}) {
    if (int rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(personality), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit)))
      return rc;
  }
  return 0;
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

// Prefix: syscall numbers of this ABI that are newer than the policy answer
// ENOSYS. x32 numbers (bit 30) fall through to libseccomp's bad-arch kill.
std::vector<sock_filter> unreviewed_syscall_prefix() {
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kFirstUnreviewedSyscall, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
}

}  // namespace

Result<SeccompProgram> build_seccomp_program() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return Error{ErrorCode::internal, "seccomp_init failed"};
  auto release = defer([&] { seccomp_release(ctx); });
  // Only the native x86_64 ABI: i386 and x32 calls could bypass argument
  // filters (socketcall), so they kill the process.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0)
    return sys_error("seccomp_attr_set BADARCH", -rc);
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc != 0) return sys_error("seccomp_attr_set NNP", -rc);
  // Binary-tree dispatch keeps install and per-call cost low (PERF-NOTES 4).
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (int rc = add_rules(ctx); rc != 0) return sys_error("seccomp_rule_add", -rc);
  auto body = export_bpf(ctx);
  if (!body) return body.error();
  SeccompProgram program;
  program.instructions = unreviewed_syscall_prefix();
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
