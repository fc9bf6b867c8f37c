// The seccomp filter, capability drop and no_new_privs, probed from inside a
// sandbox by tests/probes/probe.c.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

namespace {
std::map<std::string, std::string> parse(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.rfind('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}
}  // namespace

TEST_CASE("dangerous syscalls are refused for user and root alike", "[security][seccomp]") {
  auto box = make_box();
  for (const std::string user : {"user", "root"}) {
    ProcessSpec spec;
    spec.argv = {"/opt/probes/probe", "syscalls"};
    spec.user = user;
    auto r = box.client->run(spec);
    REQUIRE(r.ok());
    auto m = parse(r->out);
    INFO("as " << user << ":\n" << r->out);
    // Refused outright (EPERM from the filter, never reaching the kernel's own checks).
    for (const char* name : {"mount",
                             "umount",
                             "unshare_user",
                             "unshare_mount",
                             "unshare_net",
                             "clone_newuser",
                             "clone_newnet",
                             "setns",
                             "ptrace_traceme",
                             "ptrace_attach_pid1",
                             "process_vm_readv",
                             "io_uring_setup",
                             "userfaultfd",
                             "bpf",
                             "perf_event_open",
                             "keyctl",
                             "add_key",
                             "request_key",
                             "kexec_load",
                             "init_module",
                             "chroot",
                             "pivot_root",
                             "sethostname",
                             "open_by_handle_at",
                             "personality_no_aslr",
                             "socket_raw_inet",
                             "socket_raw_inet6",
                             "tiocsti",
                             "tiocsti_high_bits",
                             "socket_raw_high_bits",
                             "socketpair_inet",
                             "personality_whole_seconds",
                             "personality_high_bits",
                             "listmount",
                             "statmount",
                             "lsm_list_modules",
                             "open_tree_attr",
                             "clock_adjtime",
                             "adjtimex",
                             "modify_ldt",
                             "name_to_handle_at",
                             "fanotify_init"})
      CHECK(m[name] == "EPERM");
    CHECK(m["clone3"] == "ENOSYS");  // libc falls back to clone, whose flags the filter can read
    CHECK(m["socket_alg"] == "EAFNOSUPPORT");
    CHECK(m["socket_vsock"] == "EAFNOSUPPORT");
    CHECK(m["socket_packet"] == "EAFNOSUPPORT");
    // Bits 32-63 of an int argument change nothing (the kernel ignores them).
    CHECK(m["socket_vsock_high_bits"] == "EAFNOSUPPORT");
    CHECK(m["socket_alg_high_bits"] == "EAFNOSUPPORT");
    CHECK(m["socket_packet_high_bits"] == "EAFNOSUPPORT");
    CHECK(m["personality_query"] == "OK");
    CHECK(m["mknod_block"] == "EPERM");
    // What ordinary programs need still works.
    CHECK(m["thread"] == "OK");
    CHECK(m["socket_tcp"] == "OK");
    CHECK(m["socket_netlink"] == "OK");
  }
}

TEST_CASE("32-bit and x32 system calls kill the process", "[security][seccomp]") {
  auto box = make_box();
  auto x32 = box.run({"/opt/probes/probe", "x32"});
  CHECK(x32.signal == 31);  // SIGSYS
  CHECK(x32.out.empty());
  auto i386 = box.run({"/opt/probes/probe", "i386"});
  CHECK(i386.signal == 31);
  CHECK(i386.out.empty());
}

TEST_CASE("system calls newer than the policy answer ENOSYS", "[security][seccomp]") {
  auto box = make_box();
  CHECK(box.run({"/opt/probes/probe", "future-syscall"}).out == "syscall_500=ENOSYS\n");
}

TEST_CASE("no_new_privs is set and setuid binaries give nothing", "[security][seccomp]") {
  auto box = make_box();
  CHECK(box.sh("grep NoNewPrivs /proc/self/status").out == "NoNewPrivs:\t1\n");
  // Whatever setuid-root binaries the host has in /usr run as the caller.
  auto r = box.sh("for f in $(find /usr/bin /usr/sbin -perm -4000 -type f 2>/dev/null); do echo $f; done");
  INFO("setuid binaries: " << r.out);
  REQUIRE_FALSE(r.out.empty());
  CHECK_THAT(box.sh("grep ' /usr ' /proc/self/mounts").out, Catch::Contains("nosuid"));
  // su cannot become root; a copy with the setuid bit set by its owner gives nothing either.
  auto su = box.sh("echo | su -c 'id -u' root 2>&1; echo rc=$?");
  CHECK_THAT(su.out, !Catch::Contains("\n0\n"));
  auto self = box.sh(
      "cp /usr/bin/id /tmp/myid && chmod 4755 /tmp/myid && /tmp/myid -u && "
      "cp /usr/bin/id ~/myid && chmod 4755 ~/myid && ~/myid -u");
  CHECK(self.out == "1000\n1000\n");
}
