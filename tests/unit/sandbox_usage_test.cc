// A sandbox's usage as its metrics sample it (isolation/sandbox_usage.h):
// the /proc/<pid>/net/dev parser, and the cgroup's counters passed through.
#include "isolation/sandbox_usage.h"

#include <catch2/catch.hpp>

namespace {

using namespace soulbox;
using namespace soulbox::isolation;

// What the kernel writes (Linux 6.1): two header lines, then one line per
// interface (older kernels wrote no space after the colon).
constexpr const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
    "carrier compressed\n"
    "    lo:  987654     321    0    0    0     0          0         0   987654     321    0    0    0     0       "
    "0          0\n"
    "  eth0:    1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       "
    "0          0\n"
    "veth-sbx1234:300 3 0 0 0 0 0 0 400 4 0 0 0 0 0 0\n";

TEST_CASE("net/dev: receive and transmit bytes add up over every interface but lo", "[isolation]") {
  const NetBytes n = parse_net_dev(kNetDev);
  CHECK(n.rx == 1300);
  CHECK(n.tx == 2400);
}

TEST_CASE("net/dev: only lo, only headers or nothing count as no traffic", "[isolation]") {
  CHECK(parse_net_dev("    lo:  5 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n").rx == 0);
  CHECK(parse_net_dev("Inter-|   Receive\n face |bytes\n").tx == 0);
  CHECK(parse_net_dev("").rx == 0);
}

TEST_CASE("net/dev: a process that is gone has no traffic", "[isolation]") {
  const NetBytes n = read_net_bytes(-1);
  CHECK(n.rx == 0);
  CHECK(n.tx == 0);
}

// A cgroup whose counters are given.
struct FixedCgroup : Cgroup {
  Result<CgroupUsage> counters;
  explicit FixedCgroup(Result<CgroupUsage> c) : counters(std::move(c)) {}
  Status attach(pid_t) override { return {}; }
  Status freeze() override { return {}; }
  Status thaw() override { return {}; }
  Status kill_all() override { return {}; }
  Result<CgroupUsage> usage() const override { return counters; }
  bool memory_limit_reached_since_last_check() override { return false; }
  Status remove() override { return {}; }
};

TEST_CASE("a sandbox's usage carries its cgroup's counters, or the cgroup's error", "[isolation]") {
  CgroupUsage counters;
  counters.memory_current = 42 << 20;
  counters.cpu_usec = 1234;
  counters.oom_kills = 2;
  auto usage = read_sandbox_usage(FixedCgroup(counters), -1);
  REQUIRE(usage);
  CHECK(usage->cgroup.memory_current == 42u << 20);
  CHECK(usage->cgroup.cpu_usec == 1234);
  CHECK(usage->cgroup.oom_kills == 2);
  CHECK(usage->net.rx == 0);
  auto failed = read_sandbox_usage(FixedCgroup(Error{ErrorCode::not_found, "gone"}), -1);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == ErrorCode::not_found);
}

}  // namespace
