#include "isolation/seccomp_syscalls.h"

#include <sys/syscall.h>

namespace soulbox::isolation {

// A name missing from the kernel headers fails the build here.
#define SOULBOX_SYSCALL(name) \
  SyscallName {               \
#name, __NR_##name        \
  }

// Docker's default allowlist for a container without capabilities, restricted
// to x86_64, minus what SoulBox refuses beyond Docker (docs/SECURITY.md):
// ptrace, process_vm_*, io_uring, name_to_handle_at, fanotify_mark,
// adjtimex/clock_adjtime, modify_ldt, memfd_secret, the unimplemented
// epoll_*_old. clone, socket, socketpair, personality and ioctl are allowed
// with argument checks (seccomp_policy.cc).
// clang-format off
const SyscallName kAllowedSyscalls[] = {
    // files and directories
    SOULBOX_SYSCALL(read), SOULBOX_SYSCALL(write), SOULBOX_SYSCALL(open), SOULBOX_SYSCALL(close),
    SOULBOX_SYSCALL(stat), SOULBOX_SYSCALL(fstat), SOULBOX_SYSCALL(lstat), SOULBOX_SYSCALL(newfstatat),
    SOULBOX_SYSCALL(statx), SOULBOX_SYSCALL(lseek), SOULBOX_SYSCALL(pread64), SOULBOX_SYSCALL(pwrite64),
    SOULBOX_SYSCALL(readv), SOULBOX_SYSCALL(writev), SOULBOX_SYSCALL(preadv), SOULBOX_SYSCALL(pwritev),
    SOULBOX_SYSCALL(preadv2), SOULBOX_SYSCALL(pwritev2), SOULBOX_SYSCALL(access), SOULBOX_SYSCALL(faccessat),
    SOULBOX_SYSCALL(faccessat2), SOULBOX_SYSCALL(openat), SOULBOX_SYSCALL(openat2), SOULBOX_SYSCALL(creat),
    SOULBOX_SYSCALL(close_range), SOULBOX_SYSCALL(dup), SOULBOX_SYSCALL(dup2), SOULBOX_SYSCALL(dup3),
    SOULBOX_SYSCALL(fcntl), SOULBOX_SYSCALL(flock), SOULBOX_SYSCALL(fsync), SOULBOX_SYSCALL(fdatasync),
    SOULBOX_SYSCALL(sync), SOULBOX_SYSCALL(syncfs), SOULBOX_SYSCALL(sync_file_range), SOULBOX_SYSCALL(truncate),
    SOULBOX_SYSCALL(ftruncate), SOULBOX_SYSCALL(fallocate), SOULBOX_SYSCALL(fadvise64), SOULBOX_SYSCALL(readahead),
    SOULBOX_SYSCALL(getdents), SOULBOX_SYSCALL(getdents64), SOULBOX_SYSCALL(getcwd), SOULBOX_SYSCALL(chdir),
    SOULBOX_SYSCALL(fchdir), SOULBOX_SYSCALL(rename), SOULBOX_SYSCALL(renameat), SOULBOX_SYSCALL(renameat2),
    SOULBOX_SYSCALL(mkdir), SOULBOX_SYSCALL(mkdirat), SOULBOX_SYSCALL(rmdir), SOULBOX_SYSCALL(link),
    SOULBOX_SYSCALL(linkat), SOULBOX_SYSCALL(unlink), SOULBOX_SYSCALL(unlinkat), SOULBOX_SYSCALL(symlink),
    SOULBOX_SYSCALL(symlinkat), SOULBOX_SYSCALL(readlink), SOULBOX_SYSCALL(readlinkat), SOULBOX_SYSCALL(mknod),
    SOULBOX_SYSCALL(mknodat), SOULBOX_SYSCALL(chmod), SOULBOX_SYSCALL(fchmod), SOULBOX_SYSCALL(fchmodat),
    SOULBOX_SYSCALL(chown), SOULBOX_SYSCALL(fchown), SOULBOX_SYSCALL(lchown), SOULBOX_SYSCALL(fchownat),
    SOULBOX_SYSCALL(umask), SOULBOX_SYSCALL(utime), SOULBOX_SYSCALL(utimes), SOULBOX_SYSCALL(futimesat),
    SOULBOX_SYSCALL(utimensat), SOULBOX_SYSCALL(statfs), SOULBOX_SYSCALL(fstatfs), SOULBOX_SYSCALL(setxattr),
    SOULBOX_SYSCALL(lsetxattr), SOULBOX_SYSCALL(fsetxattr), SOULBOX_SYSCALL(getxattr), SOULBOX_SYSCALL(lgetxattr),
    SOULBOX_SYSCALL(fgetxattr), SOULBOX_SYSCALL(listxattr), SOULBOX_SYSCALL(llistxattr), SOULBOX_SYSCALL(flistxattr),
    SOULBOX_SYSCALL(removexattr), SOULBOX_SYSCALL(lremovexattr), SOULBOX_SYSCALL(fremovexattr),
    SOULBOX_SYSCALL(copy_file_range), SOULBOX_SYSCALL(sendfile), SOULBOX_SYSCALL(splice), SOULBOX_SYSCALL(tee),
    SOULBOX_SYSCALL(vmsplice), SOULBOX_SYSCALL(memfd_create), SOULBOX_SYSCALL(inotify_init),
    SOULBOX_SYSCALL(inotify_init1), SOULBOX_SYSCALL(inotify_add_watch), SOULBOX_SYSCALL(inotify_rm_watch),
    // asynchronous I/O (not io_uring)
    SOULBOX_SYSCALL(io_setup), SOULBOX_SYSCALL(io_destroy), SOULBOX_SYSCALL(io_submit), SOULBOX_SYSCALL(io_cancel),
    SOULBOX_SYSCALL(io_getevents), SOULBOX_SYSCALL(io_pgetevents),
    // waiting and events
    SOULBOX_SYSCALL(poll), SOULBOX_SYSCALL(ppoll), SOULBOX_SYSCALL(select), SOULBOX_SYSCALL(pselect6),
    SOULBOX_SYSCALL(epoll_create), SOULBOX_SYSCALL(epoll_create1), SOULBOX_SYSCALL(epoll_ctl),
    SOULBOX_SYSCALL(epoll_wait), SOULBOX_SYSCALL(epoll_pwait), SOULBOX_SYSCALL(epoll_pwait2),
    SOULBOX_SYSCALL(eventfd), SOULBOX_SYSCALL(eventfd2), SOULBOX_SYSCALL(signalfd), SOULBOX_SYSCALL(signalfd4),
    SOULBOX_SYSCALL(timerfd_create), SOULBOX_SYSCALL(timerfd_settime), SOULBOX_SYSCALL(timerfd_gettime),
    SOULBOX_SYSCALL(pipe), SOULBOX_SYSCALL(pipe2), SOULBOX_SYSCALL(futex), SOULBOX_SYSCALL(futex_waitv),
    SOULBOX_SYSCALL(set_robust_list), SOULBOX_SYSCALL(get_robust_list), SOULBOX_SYSCALL(pause),
    SOULBOX_SYSCALL(nanosleep), SOULBOX_SYSCALL(clock_nanosleep), SOULBOX_SYSCALL(restart_syscall),
    // memory
    SOULBOX_SYSCALL(brk), SOULBOX_SYSCALL(mmap), SOULBOX_SYSCALL(munmap), SOULBOX_SYSCALL(mremap),
    SOULBOX_SYSCALL(mprotect), SOULBOX_SYSCALL(madvise), SOULBOX_SYSCALL(msync), SOULBOX_SYSCALL(mincore),
    SOULBOX_SYSCALL(mlock), SOULBOX_SYSCALL(mlock2), SOULBOX_SYSCALL(munlock), SOULBOX_SYSCALL(mlockall),
    SOULBOX_SYSCALL(munlockall), SOULBOX_SYSCALL(remap_file_pages), SOULBOX_SYSCALL(membarrier),
    SOULBOX_SYSCALL(pkey_mprotect), SOULBOX_SYSCALL(pkey_alloc), SOULBOX_SYSCALL(pkey_free),
    // processes, threads, signals
    SOULBOX_SYSCALL(fork), SOULBOX_SYSCALL(vfork), SOULBOX_SYSCALL(execve), SOULBOX_SYSCALL(execveat),
    SOULBOX_SYSCALL(exit), SOULBOX_SYSCALL(exit_group), SOULBOX_SYSCALL(wait4), SOULBOX_SYSCALL(waitid),
    SOULBOX_SYSCALL(kill), SOULBOX_SYSCALL(tkill), SOULBOX_SYSCALL(tgkill), SOULBOX_SYSCALL(pidfd_open),
    SOULBOX_SYSCALL(pidfd_send_signal), SOULBOX_SYSCALL(process_mrelease), SOULBOX_SYSCALL(rt_sigaction),
    SOULBOX_SYSCALL(rt_sigprocmask), SOULBOX_SYSCALL(rt_sigreturn), SOULBOX_SYSCALL(rt_sigpending),
    SOULBOX_SYSCALL(rt_sigtimedwait), SOULBOX_SYSCALL(rt_sigqueueinfo), SOULBOX_SYSCALL(rt_tgsigqueueinfo),
    SOULBOX_SYSCALL(rt_sigsuspend), SOULBOX_SYSCALL(sigaltstack), SOULBOX_SYSCALL(arch_prctl),
    SOULBOX_SYSCALL(set_thread_area), SOULBOX_SYSCALL(get_thread_area), SOULBOX_SYSCALL(set_tid_address),
    SOULBOX_SYSCALL(rseq), SOULBOX_SYSCALL(prctl), SOULBOX_SYSCALL(seccomp), SOULBOX_SYSCALL(getpid),
    SOULBOX_SYSCALL(getppid), SOULBOX_SYSCALL(gettid), SOULBOX_SYSCALL(getpgid), SOULBOX_SYSCALL(setpgid),
    SOULBOX_SYSCALL(getpgrp), SOULBOX_SYSCALL(getsid), SOULBOX_SYSCALL(setsid), SOULBOX_SYSCALL(getpriority),
    SOULBOX_SYSCALL(setpriority), SOULBOX_SYSCALL(ioprio_get), SOULBOX_SYSCALL(ioprio_set),
    SOULBOX_SYSCALL(sched_yield), SOULBOX_SYSCALL(sched_getaffinity), SOULBOX_SYSCALL(sched_setaffinity),
    SOULBOX_SYSCALL(sched_getparam), SOULBOX_SYSCALL(sched_setparam), SOULBOX_SYSCALL(sched_getscheduler),
    SOULBOX_SYSCALL(sched_setscheduler), SOULBOX_SYSCALL(sched_getattr), SOULBOX_SYSCALL(sched_setattr),
    SOULBOX_SYSCALL(sched_get_priority_max), SOULBOX_SYSCALL(sched_get_priority_min),
    SOULBOX_SYSCALL(sched_rr_get_interval), SOULBOX_SYSCALL(getrlimit), SOULBOX_SYSCALL(setrlimit),
    SOULBOX_SYSCALL(prlimit64), SOULBOX_SYSCALL(getrusage), SOULBOX_SYSCALL(times),
    SOULBOX_SYSCALL(landlock_create_ruleset), SOULBOX_SYSCALL(landlock_add_rule),
    SOULBOX_SYSCALL(landlock_restrict_self),
    // credentials (without capabilities they only move between ids already held)
    SOULBOX_SYSCALL(getuid), SOULBOX_SYSCALL(geteuid), SOULBOX_SYSCALL(getgid), SOULBOX_SYSCALL(getegid),
    SOULBOX_SYSCALL(getresuid), SOULBOX_SYSCALL(getresgid), SOULBOX_SYSCALL(getgroups), SOULBOX_SYSCALL(setuid),
    SOULBOX_SYSCALL(setgid), SOULBOX_SYSCALL(setreuid), SOULBOX_SYSCALL(setregid), SOULBOX_SYSCALL(setresuid),
    SOULBOX_SYSCALL(setresgid), SOULBOX_SYSCALL(setgroups), SOULBOX_SYSCALL(setfsuid), SOULBOX_SYSCALL(setfsgid),
    SOULBOX_SYSCALL(capget), SOULBOX_SYSCALL(capset),
    // time (reading it, timers)
    SOULBOX_SYSCALL(time), SOULBOX_SYSCALL(gettimeofday), SOULBOX_SYSCALL(clock_gettime),
    SOULBOX_SYSCALL(clock_getres), SOULBOX_SYSCALL(alarm), SOULBOX_SYSCALL(getitimer), SOULBOX_SYSCALL(setitimer),
    SOULBOX_SYSCALL(timer_create), SOULBOX_SYSCALL(timer_settime), SOULBOX_SYSCALL(timer_gettime),
    SOULBOX_SYSCALL(timer_getoverrun), SOULBOX_SYSCALL(timer_delete),
    // system information
    SOULBOX_SYSCALL(uname), SOULBOX_SYSCALL(sysinfo), SOULBOX_SYSCALL(getcpu), SOULBOX_SYSCALL(getrandom),
    // sockets (socket and socketpair themselves are argument-checked)
    SOULBOX_SYSCALL(connect), SOULBOX_SYSCALL(accept), SOULBOX_SYSCALL(accept4), SOULBOX_SYSCALL(bind),
    SOULBOX_SYSCALL(listen), SOULBOX_SYSCALL(shutdown), SOULBOX_SYSCALL(getsockname), SOULBOX_SYSCALL(getpeername),
    SOULBOX_SYSCALL(setsockopt), SOULBOX_SYSCALL(getsockopt), SOULBOX_SYSCALL(sendto), SOULBOX_SYSCALL(recvfrom),
    SOULBOX_SYSCALL(sendmsg), SOULBOX_SYSCALL(recvmsg), SOULBOX_SYSCALL(sendmmsg), SOULBOX_SYSCALL(recvmmsg),
    // System V and POSIX IPC (the sandbox has its own IPC namespace)
    SOULBOX_SYSCALL(shmget), SOULBOX_SYSCALL(shmat), SOULBOX_SYSCALL(shmctl), SOULBOX_SYSCALL(shmdt),
    SOULBOX_SYSCALL(semget), SOULBOX_SYSCALL(semop), SOULBOX_SYSCALL(semtimedop), SOULBOX_SYSCALL(semctl),
    SOULBOX_SYSCALL(msgget), SOULBOX_SYSCALL(msgsnd), SOULBOX_SYSCALL(msgrcv), SOULBOX_SYSCALL(msgctl),
    SOULBOX_SYSCALL(mq_open), SOULBOX_SYSCALL(mq_unlink), SOULBOX_SYSCALL(mq_timedsend),
    SOULBOX_SYSCALL(mq_timedreceive), SOULBOX_SYSCALL(mq_notify), SOULBOX_SYSCALL(mq_getsetattr),
    // Newer than Debian 12's kernel headers: numbers from the kernel's
    // syscall_64.tbl, cross-checked against libseccomp where it knows them.
    SyscallName{"cachestat", 451}, SyscallName{"fchmodat2", 452}, SyscallName{"map_shadow_stack", 453},
    SyscallName{"futex_wake", 454}, SyscallName{"futex_wait", 455}, SyscallName{"futex_requeue", 456},
    SyscallName{"mseal", 462}, SyscallName{"setxattrat", 463}, SyscallName{"getxattrat", 464},
    SyscallName{"listxattrat", 465}, SyscallName{"removexattrat", 466}, SyscallName{"file_getattr", 468},
    SyscallName{"file_setattr", 469},
};
// clang-format on

const int kAllowedSyscallCount = sizeof(kAllowedSyscalls) / sizeof(kAllowedSyscalls[0]);

}  // namespace soulbox::isolation
