/* probe: hostile and diagnostic actions run inside sandboxes by the tests.
 * Every action is harmless on a broken sandbox: writes to host settings are
 * only opened (never written), bombs are bounded in size, and the fork bomb
 * is only started by tests that first proved a pids limit holds.
 * Output: one "name=RESULT" line per probe (RESULT is OK or an errno name). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char* name, long rc) {
  if (rc >= 0)
    printf("%s=OK\n", name);
  else
    printf("%s=%s\n", name, strerrorname_np(errno));
  fflush(stdout);
}

/* Runs fn in a throwaway child so a successful call (ptrace, clone) cannot
 * disturb the probe itself. */
static void in_child(const char* name, long (*fn)(void)) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    long rc = fn();
    int err = rc >= 0 ? 0 : errno;
    if (write(pipefd[1], &err, sizeof err) != sizeof err) _exit(2);
    _exit(0);
  }
  int err = -1;
  close(pipefd[1]);
  if (read(pipefd[0], &err, sizeof err) != sizeof err) err = -1;
  close(pipefd[0]);
  waitpid(pid, NULL, 0);
  if (err == 0)
    printf("%s=OK\n", name);
  else if (err < 0)
    printf("%s=KILLED\n", name);
  else
    printf("%s=%s\n", name, strerrorname_np(err));
  fflush(stdout);
}

static long do_traceme(void) {
  return ptrace(PTRACE_TRACEME, 0, 0, 0);
}
static long do_clone_newuser(void) {
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
static long do_clone_newnet(void) {
  long pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
static long do_thread(void) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, (void* (*)(void*))(void*)sleep, (void*)0);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  pthread_join(t, NULL);
  return 0;
}

static int syscalls(void) {
  char buf[8] = {0};
  struct iovec local = {buf, 1}, remote = {(void*)0x1000, 1};
  report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
  report("umount", umount2("/proc", MNT_DETACH));
  report("unshare_user", unshare(CLONE_NEWUSER));
  report("unshare_mount", unshare(CLONE_NEWNS));
  report("unshare_net", unshare(CLONE_NEWNET));
  in_child("clone_newuser", do_clone_newuser);
  in_child("clone_newnet", do_clone_newnet);
  report("clone3", syscall(SYS_clone3, NULL, 0));
  in_child("thread", do_thread);
  report("setns", setns(0, 0));
  in_child("ptrace_traceme", do_traceme);
  report("ptrace_attach_pid1", ptrace(PTRACE_ATTACH, 1, 0, 0));
  report("process_vm_readv", process_vm_readv(1, &local, 1, &remote, 1, 0));
  report("io_uring_setup", syscall(__NR_io_uring_setup, 1, buf));
  report("userfaultfd", syscall(__NR_userfaultfd, 0));
  report("bpf", syscall(__NR_bpf, 0, NULL, 0));
  report("perf_event_open", syscall(__NR_perf_event_open, NULL, 0, -1, -1, 0));
  report("keyctl", syscall(__NR_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0));
  report("add_key", syscall(__NR_add_key, "user", "soulbox", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  report("request_key", syscall(__NR_request_key, "user", "soulbox", NULL, 0));
  report("kexec_load", syscall(__NR_kexec_load, 0, 0, NULL, 0));
  report("init_module", syscall(__NR_init_module, NULL, 0, ""));
  report("chroot", chroot("/tmp"));
  report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
  report("sethostname", sethostname("x", 1));
  report("mknod_block", mknod("/tmp/probe-blk", S_IFBLK | 0600, makedev(8, 0)));
  report("open_by_handle_at", syscall(__NR_open_by_handle_at, AT_FDCWD, NULL, 0));
  report("personality_no_aslr", personality(ADDR_NO_RANDOMIZE));
  report("socket_alg", socket(AF_ALG, SOCK_SEQPACKET, 0));
  report("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
  report("socket_packet", socket(AF_PACKET, SOCK_RAW, 0));
  report("socket_raw_inet", socket(AF_INET, SOCK_RAW, 1));
  report("socket_raw_inet6", socket(AF_INET6, SOCK_RAW, 58));
  report("socket_netlink", socket(AF_NETLINK, SOCK_RAW, 0));
  report("socket_tcp", socket(AF_INET, SOCK_STREAM, 0));
  report("tiocsti", ioctl(0, TIOCSTI, "x"));
  report("tiocsti_high_bits", syscall(SYS_ioctl, 0, (0x123UL << 32) | TIOCSTI, "x"));
  /* The kernel reads int arguments as 32 bits: bits 32-63 must not get a
   * refused value past the filter. */
  report("socket_vsock_high_bits", syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0));
  report("socket_alg_high_bits", syscall(SYS_socket, (1UL << 32) | AF_ALG, SOCK_SEQPACKET, 0));
  report("socket_packet_high_bits", syscall(SYS_socket, (1UL << 32) | AF_PACKET, SOCK_RAW, 0));
  report("socket_raw_high_bits", syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_RAW, 1));
  report("socketpair_inet", syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, (int[2]){0, 0}));
  report("personality_whole_seconds", personality(0x4000000 /* WHOLE_SECONDS */));
  report("personality_high_bits", syscall(SYS_personality, (1UL << 32) | ADDR_NO_RANDOMIZE));
  report("personality_query", personality(0xffffffff));
  /* Newer calls the policy refuses (x86_64 numbers: the headers may predate them). */
  report("listmount", syscall(458, NULL, NULL, 0, 0));
  report("statmount", syscall(457, NULL, NULL, 0, 0));
  report("lsm_list_modules", syscall(461, NULL, NULL, 0));
  report("open_tree_attr", syscall(467, -1, "/", 0, NULL, 0));
  report("clock_adjtime", syscall(SYS_clock_adjtime, 0, NULL));
  report("adjtimex", syscall(SYS_adjtimex, NULL));
  report("modify_ldt", syscall(SYS_modify_ldt, 0, NULL, 0));
  report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0));
  report("fanotify_init", syscall(SYS_fanotify_init, 0, 0));
  return 0;
}

/* Opens (never writes) host-wide settings for writing. */
static int host_settings(void) {
  const char* paths[] = {"/proc/sys/kernel/core_pattern",
                         "/proc/sysrq-trigger",
                         "/proc/sys/vm/drop_caches",
                         "/proc/sys/kernel/hostname",
                         "/sys/kernel/uevent_helper",
                         "/sys/fs/cgroup/cgroup.procs",
                         "/proc/1/mem",
                         "/proc/1/exe",
                         "/proc/kcore",
                         "/dev/mem"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; ++i) {
    int fd = open(paths[i], O_WRONLY);
    report(paths[i], fd);
    if (fd >= 0) close(fd);
  }
  return 0;
}

static int list_fds(void) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 1;
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    char link[512] = {0}, path[300];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    if (readlink(path, link, sizeof link - 1) < 0) strcpy(link, "?");
    printf("%s -> %s\n", e->d_name, link);
  }
  closedir(d);
  return 0;
}

static int memory(long mb) {
  for (long i = 0; i < mb; ++i) {
    char* p = malloc(1 << 20);
    if (!p) {
      printf("malloc failed at %ld MiB\n", i);
      return 1;
    }
    memset(p, 1, 1 << 20);
    if (i % 16 == 0) {
      printf("%ld\n", i);
      fflush(stdout);
    }
  }
  printf("allocated %ld MiB\n", mb);
  return 0;
}

static int fds(long max) {
  long n = 0;
  for (; n < max; ++n)
    if (open("/dev/null", O_RDONLY) < 0) break;
  printf("opened=%ld error=%s\n", n, n < max ? strerrorname_np(errno) : "none");
  return 0;
}

static int zombies(long n) {
  long made = 0;
  for (; made < n; ++made) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) _exit(0);
  }
  printf("zombies=%ld\n", made);
  fflush(stdout);
  usleep(200000);
  return 0; /* exit without reaping: PID 1 must reap them */
}

static void* idle(void* arg) {
  (void)arg;
  pause();
  return NULL;
}
static int threads(long max) {
  long n = 0;
  for (; n < max; ++n) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    int rc = pthread_create(&t, &a, idle, NULL);
    if (rc != 0) {
      errno = rc;
      break;
    }
  }
  printf("threads=%ld error=%s\n", n, n < max ? strerrorname_np(errno) : "none");
  return 0;
}

static int processes(long max) {
  long n = 0;
  for (; n < max; ++n) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      pause();
      _exit(0);
    }
  }
  printf("processes=%ld error=%s\n", n, n < max ? strerrorname_np(errno) : "none");
  return 0;
}

static int forkbomb(void) {
  for (;;) fork();
  return 0;
}

static int daemonize(void) {
  if (fork() != 0) return 0;
  setsid();
  if (fork() != 0) _exit(0);
  for (int i = 0; i < 3; ++i) close(i);
  for (;;) pause();
  return 0;
}

static int flood(long mb) {
  static char block[65536];
  memset(block, 'x', sizeof block);
  for (long i = 0; i < mb * 16; ++i)
    if (write(1, block, sizeof block) < 0) return 1;
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe ACTION [N]\n");
    return 2;
  }
  const char* a = argv[1];
  long n = argc > 2 ? atol(argv[2]) : 0;
  if (!strcmp(a, "syscalls")) return syscalls();
  if (!strcmp(a, "host-settings")) return host_settings();
  if (!strcmp(a, "fds")) return list_fds();
  if (!strcmp(a, "memory")) return memory(n);
  if (!strcmp(a, "open-files")) return fds(n);
  if (!strcmp(a, "zombies")) return zombies(n);
  if (!strcmp(a, "threads")) return threads(n);
  if (!strcmp(a, "processes")) return processes(n);
  if (!strcmp(a, "forkbomb")) return forkbomb();
  if (!strcmp(a, "daemon")) return daemonize();
  if (!strcmp(a, "flood")) return flood(n);
  if (!strcmp(a, "x32")) {
    long r = syscall(0x40000000 | 39);
    printf("x32 getpid returned %ld\n", r);
    return 0;
  }
  if (!strcmp(a, "i386")) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory"); /* i386 getpid */
    printf("i386 getpid returned %ld\n", r);
    return 0;
  }
  if (!strcmp(a, "future-syscall")) {
    report("syscall_500", syscall(500));
    return 0;
  }
  fprintf(stderr, "unknown action %s\n", a);
  return 2;
}
