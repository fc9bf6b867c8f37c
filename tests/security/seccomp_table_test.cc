// The compiled seccomp filter against the table in docs/SECURITY.md: every
// verdict comes from running the exported BPF program (tests/support/
// bpf_sim), never from the list the program was built from.
#include <linux/audit.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "isolation/seccomp_policy.h"
#include "tests/support/bpf_sim.h"

using namespace soulbox;

namespace {

// Numbers probed: far past the highest x86_64 syscall of any kernel yet.
constexpr int kProbedSyscalls = 1024;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t errno_ret(int e) {
  return SECCOMP_RET_ERRNO | uint32_t(e);
}

struct DocTable {
  std::set<int> allowed, argument_checked, enosys;
  int enosys_from = -1;
};

// A name resolves through libseccomp, or carries its number ("name=452")
// where libseccomp 2.5 predates it.
int syscall_number(const std::string& token) {
  const auto eq = token.find('=');
  if (eq != std::string::npos) return std::stoi(token.substr(eq + 1));
  const int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, token.c_str());
  INFO("docs/SECURITY.md names " << token);
  REQUIRE(nr != __NR_SCMP_ERROR);
  return nr;
}

// The fenced ```seccomp block of docs/SECURITY.md: "verdict: names..." lines.
DocTable read_doc_table() {
  std::ifstream doc(std::string(SOULBOX_SOURCE_DIR) + "/docs/SECURITY.md");
  REQUIRE(doc);
  DocTable table;
  std::string line;
  bool inside = false;
  while (std::getline(doc, line)) {
    if (line == "```seccomp")
      inside = true;
    else if (inside && line == "```")
      break;
    else if (inside) {
      std::istringstream words(line);
      std::string verdict, token;
      words >> verdict;
      while (words >> token) {
        if (verdict == "allow:")
          table.allowed.insert(syscall_number(token));
        else if (verdict == "argument-checked:")
          table.argument_checked.insert(syscall_number(token));
        else if (verdict == "enosys:")
          table.enosys.insert(syscall_number(token));
        else if (verdict == "enosys-from:")
          table.enosys_from = std::stoi(token);
      }
    }
  }
  REQUIRE(table.enosys_from > 0);
  REQUIRE(table.allowed.size() > 200);
  return table;
}

std::string syscall_name(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
  std::string out = name ? name : "?";
  free(name);
  return out;
}

uint32_t verdict(const std::vector<sock_filter>& program, uint32_t arch, int nr, const uint64_t (&args)[6]) {
  seccomp_data data{};
  data.nr = nr;
  data.arch = arch;
  for (int i = 0; i < 6; ++i) data.args[i] = args[i];
  auto ret = test::run_seccomp_bpf(program, data);
  REQUIRE(ret.has_value());
  return *ret;
}

const uint64_t kArgVectors[][6] = {
    {0, 0, 0, 0, 0, 0},
    {~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL},
    {0x123456789abcdef0ULL, 1, 2, 3, 4, 5},
    {1ULL << 32, 0x5412, 0x7E020000, 10, 40, 38},
};

std::vector<sock_filter> compiled_program() {
  auto program = isolation::build_seccomp_program();
  REQUIRE(program.ok());
  return program->instructions;
}

}  // namespace

TEST_CASE("every x86_64 syscall number gets the verdict docs/SECURITY.md gives it", "[security][seccomp]") {
  const auto program = compiled_program();
  const DocTable doc = read_doc_table();
  for (int nr = 0; nr < kProbedSyscalls; ++nr) {
    if (doc.argument_checked.count(nr)) continue;
    uint32_t expected = errno_ret(EPERM);
    if (doc.allowed.count(nr))
      expected = kAllow;
    else if (doc.enosys.count(nr) || nr >= doc.enosys_from)
      expected = errno_ret(ENOSYS);
    for (const auto& args : kArgVectors) {
      INFO("syscall " << nr << " (" << syscall_name(nr) << ")");
      CHECK(verdict(program, AUDIT_ARCH_X86_64, nr, args) == expected);
    }
  }
}

TEST_CASE("the i386 and x32 ABIs and unknown architectures are killed", "[security][seccomp]") {
  const auto program = compiled_program();
  const uint64_t zeros[6] = {};
  for (int nr = 0; nr < kProbedSyscalls; ++nr) {
    INFO("syscall " << nr);
    CHECK(verdict(program, AUDIT_ARCH_I386, nr, zeros) == kKill);
    CHECK(verdict(program, AUDIT_ARCH_X86_64, nr | 0x40000000, zeros) == kKill);
    CHECK(verdict(program, AUDIT_ARCH_AARCH64, nr, zeros) == kKill);
  }
}

TEST_CASE("argument-checked syscalls compare the width the kernel reads", "[security][seccomp]") {
  const auto program = compiled_program();
  const DocTable doc = read_doc_table();
  CHECK(doc.argument_checked == std::set<int>{SYS_clone, SYS_ioctl, SYS_personality, SYS_socket, SYS_socketpair});
  const uint64_t high = 1ULL << 32;
  struct Case {
    int nr;
    uint64_t a0, a1;
    uint32_t expected;
  };
  const Case cases[] = {
      // socket(family, type): families are ints, high bits ignored by the kernel
      {SYS_socket, AF_UNIX, SOCK_STREAM, kAllow},
      {SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, kAllow},
      {SYS_socket, AF_INET6, SOCK_DGRAM, kAllow},
      {SYS_socket, AF_NETLINK, SOCK_RAW, kAllow},
      {SYS_socket, high | AF_INET, SOCK_STREAM, kAllow},
      {SYS_socket, AF_INET, SOCK_RAW, errno_ret(EPERM)},
      {SYS_socket, high | AF_INET6, SOCK_RAW, errno_ret(EPERM)},
      {SYS_socket, AF_INET, SOCK_SEQPACKET, errno_ret(EPERM)},
      {SYS_socket, AF_VSOCK, SOCK_STREAM, errno_ret(EAFNOSUPPORT)},
      {SYS_socket, high | AF_VSOCK, SOCK_STREAM, errno_ret(EAFNOSUPPORT)},
      {SYS_socket, ~0ULL << 32 | AF_ALG, SOCK_SEQPACKET, errno_ret(EAFNOSUPPORT)},
      {SYS_socket, high | AF_PACKET, SOCK_RAW, errno_ret(EAFNOSUPPORT)},
      {SYS_socket, AF_UNSPEC, SOCK_STREAM, errno_ret(EAFNOSUPPORT)},
      {SYS_socket, 4096, SOCK_STREAM, errno_ret(EPERM)},
      {SYS_socketpair, AF_UNIX, SOCK_STREAM, kAllow},
      {SYS_socketpair, high | AF_UNIX, SOCK_STREAM, kAllow},
      {SYS_socketpair, AF_INET, SOCK_STREAM, errno_ret(EPERM)},
      {SYS_socketpair, high | AF_VSOCK, SOCK_STREAM, errno_ret(EPERM)},
      // personality(unsigned int): the values Docker allows, nothing else
      {SYS_personality, 0, 0, kAllow},
      {SYS_personality, 0xffffffff, 0, kAllow},
      {SYS_personality, 0x20008, 0, kAllow},
      {SYS_personality, high, 0, kAllow},
      {SYS_personality, 0x0040000 /*ADDR_NO_RANDOMIZE*/, 0, errno_ret(EPERM)},
      {SYS_personality, high | 0x0040000, 0, errno_ret(EPERM)},
      {SYS_personality, 0x4000000 /*WHOLE_SECONDS*/, 0, errno_ret(EPERM)},
      {SYS_personality, 0x0400000 /*READ_IMPLIES_EXEC*/, 0, errno_ret(EPERM)},
      // ioctl(fd, unsigned int request): terminal injection refused on the low 32 bits
      {SYS_ioctl, 0, 0x5401 /*TCGETS*/, kAllow},
      {SYS_ioctl, 0, 0x5412 /*TIOCSTI*/, errno_ret(EPERM)},
      {SYS_ioctl, 0, 0x123ULL << 32 | 0x5412, errno_ret(EPERM)},
      {SYS_ioctl, 0, 0x541c /*TIOCLINUX*/, errno_ret(EPERM)},
      {SYS_ioctl, 0, high | 0x541c, errno_ret(EPERM)},
      // clone(unsigned long flags): every namespace flag refused, all 64 bits count
      {SYS_clone, 0x3d0f00 /*glibc's pthread_create*/, 0, kAllow},
      {SYS_clone, 0x1200011 /*glibc's fork*/, 0, kAllow},
      {SYS_clone, 0x10000000 /*CLONE_NEWUSER*/, 0, errno_ret(EPERM)},
      {SYS_clone, 0x40000000 /*CLONE_NEWNET*/, 0, errno_ret(EPERM)},
      {SYS_clone, 0x00020000 /*CLONE_NEWNS*/, 0, errno_ret(EPERM)},
      {SYS_clone, high | 0x20000000 /*CLONE_NEWPID*/, 0, errno_ret(EPERM)},
  };
  for (const Case& c : cases) {
    const uint64_t args[6] = {c.a0, c.a1, 0, 0, 0, 0};
    INFO("syscall " << c.nr << " (" << std::hex << c.a0 << ", " << c.a1 << ")");
    CHECK(verdict(program, AUDIT_ARCH_X86_64, c.nr, args) == c.expected);
  }
}
