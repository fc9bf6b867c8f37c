// Admission by use: pure policy and the shared counter, with a fake reading
// of the sandboxes' parent cgroup.
#include "actors/node_admission.h"

#include <catch2/catch.hpp>

#include "actors/placement.h"

using namespace soulbox;
using namespace soulbox::actors;

namespace {

constexpr uint64_t MiB = 1ull << 20;

AdmissionSettings node_of(uint64_t capacity_mib) {
  AdmissionSettings s;
  s.node_id = "n1";
  s.memory_capacity_bytes = capacity_mib * MiB;
  s.new_sandbox_memory_bytes = 8 * MiB;
  s.cpu_capacity = 2;
  return s;
}

}  // namespace

TEST_CASE("a node admits sandboxes by what they use, not by their limits", "[admission]") {
  const AdmissionSettings s = node_of(1024);
  NodeLoad idle;
  idle.memory_measured_bytes = 100 * MiB;
  idle.memory_limits_bytes = 40 * 512 * MiB;  // 20 GiB of limits on a 1 GiB node
  idle.cpus = 40;                             // 20 x its cores
  CHECK(admit(s, idle, 512 * MiB, 2, AdmissionFor::user).ok());

  NodeLoad busy = idle;
  busy.memory_measured_bytes = 1020 * MiB;  // they really use it
  auto refused = admit(s, busy, 512 * MiB, 2, AdmissionFor::user);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::resource_exhausted);
  CHECK(refused.error().message.find("use 1020 MiB of the 1024 MiB") != std::string::npos);
  // A limit no node state could ever meet is refused outright.
  CHECK_FALSE(admit(s, NodeLoad{}, 2048 * MiB, 1, AdmissionFor::user).ok());
}

TEST_CASE("overcommit ratios bound the sum of limits and of cpus when set", "[admission]") {
  AdmissionSettings s = node_of(1024);
  NodeLoad load;
  load.memory_limits_bytes = 1536 * MiB;
  load.cpus = 3;
  CHECK(admit(s, load, 512 * MiB, 1, AdmissionFor::user).ok());  // ratios 0: not counted
  s.memory_overcommit = 2;                                       // limits up to 2048 MiB
  CHECK(admit(s, load, 512 * MiB, 1, AdmissionFor::user).ok());
  auto limits = admit(s, load, 513 * MiB, 1, AdmissionFor::user);
  REQUIRE_FALSE(limits.ok());
  CHECK(limits.error().message.find("memory limits") != std::string::npos);
  s.cpu_overcommit = 2;  // 4 cpus on 2 cores
  CHECK(admit(s, load, 1 * MiB, 1, AdmissionFor::user).ok());
  auto cpus = admit(s, load, 1 * MiB, 1.5, AdmissionFor::user);
  REQUIRE_FALSE(cpus.ok());
  CHECK(cpus.error().message.find("cpus") != std::string::npos);
}

TEST_CASE("warm pools stop refilling before user creates are refused", "[admission]") {
  const AdmissionSettings s = node_of(1000);  // pools up to 900 MiB in use
  NodeLoad load;
  load.memory_measured_bytes = 895 * MiB;
  CHECK_FALSE(admit(s, load, 0, 0, AdmissionFor::pool).ok());
  CHECK(admit(s, load, 512 * MiB, 1, AdmissionFor::user).ok());
  load.memory_measured_bytes = 880 * MiB;
  CHECK(admit(s, load, 0, 0, AdmissionFor::pool).ok());
}

TEST_CASE("a new sandbox counts its estimate until a later reading replaces it", "[admission]") {
  uint64_t reading = 0;
  NodeAdmission node(node_of(100), [&]() -> Result<uint64_t> { return reading; });
  int admitted = 0;
  while (node.reserve(96 * MiB, 1, AdmissionFor::user).ok()) ++admitted;
  CHECK(admitted == 12);                                    // 12 x 8 MiB estimates fit in 100 MiB
  CHECK(node.load().memory_limits_bytes == 12 * 96 * MiB);  // over 11 x the capacity
  // Still being made: readings do not replace their estimates.
  reading = 10 * MiB;
  node.measure();
  node.measure();
  CHECK(node.load().memory_used() == 10 * MiB + 12 * 8 * MiB);
  for (int i = 0; i < 12; ++i) node.made(true);
  // A reading taken just after they were made keeps their estimates for one more round.
  node.measure();
  CHECK(node.load().memory_used() == 10 * MiB + 12 * 8 * MiB);
  node.measure();  // now the reading includes them: 12 idle sandboxes use 10 MiB
  CHECK(node.load().memory_used() == 10 * MiB);
  CHECK(node.reserve(96 * MiB, 1, AdmissionFor::user).ok());
  node.made(false);  // a create that failed: its estimate goes at once
  CHECK(node.load().memory_used() == 10 * MiB);
  // Ending gives the limits back; the memory goes with the next reading.
  for (int i = 0; i < 13; ++i) node.release(96 * MiB, 1);
  CHECK(node.load().memory_limits_bytes == 0);
  CHECK(node.load().cpus == 0);
}

TEST_CASE("a failed reading keeps the last one and the estimates", "[admission]") {
  bool fail = false;
  NodeAdmission node(node_of(100), [&]() -> Result<uint64_t> {
    if (fail) return Error{ErrorCode::unavailable, "no cgroup"};
    return uint64_t(20 * MiB);
  });
  node.measure();
  REQUIRE(node.reserve(0, 0, AdmissionFor::pool).ok());
  node.made(true);
  fail = true;
  node.measure();
  node.measure();
  CHECK(node.load().memory_used() == 28 * MiB);
}

TEST_CASE("a node refuses once the host's available memory nears its floor, whatever its sandboxes use",
          "[admission]") {
  AdmissionSettings s = node_of(20480);  // room for 20 GiB of sandboxes
  s.host_memory_floor_bytes = 256 * MiB;
  uint64_t host_available = 300 * MiB;  // but the host has little left (other processes, tmpfs)
  NodeAdmission node(
      s, []() -> Result<uint64_t> { return uint64_t(100 * MiB); }, [&] { return host_available; });
  node.measure();
  CHECK(memory_free(s, node.load()) == 44 * MiB);
  int admitted = 0;
  while (node.reserve(512 * MiB, 1, AdmissionFor::user).ok()) ++admitted;
  CHECK(admitted == 5);  // 5 x 8 MiB of the 44 MiB above the floor
  auto refused = node.reserve(512 * MiB, 1, AdmissionFor::user);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::resource_exhausted);
  CHECK(refused.error().message.find("the host has 300 MiB available and keeps 256 MiB") != std::string::npos);
  // Warm pools leave the host's last 10 % of the capacity to users.
  CHECK_FALSE(admit(s, node.load(), 0, 0, AdmissionFor::pool).ok());
  // The host frees memory: the next reading admits again.
  for (int i = 0; i < 5; ++i) node.made(true);
  host_available = 8 * 1024 * MiB;
  node.measure();
  node.measure();
  CHECK(node.reserve(512 * MiB, 1, AdmissionFor::user).ok());
  // Unknown (0) is not counted.
  NodeLoad unknown;
  CHECK(admit(s, unknown, 512 * MiB, 1, AdmissionFor::user).ok());
}

TEST_CASE("placement counts a node's estimate for a new sandbox, and cpus only where reserved", "[admission]") {
  const int64_t now = 1000000;
  NodeView n;
  n.name = "n";
  n.status = "degraded";  // short of memory: the fit below decides
  n.cpu_capacity = 2;
  n.cpu_free = 2;
  n.memory_capacity_bytes = 1024 * MiB;
  n.memory_free_bytes = 20 * MiB;
  n.new_sandbox_memory_bytes = 8 * MiB;
  n.seen_unix_ms = now;
  std::map<std::string, NodeView> nodes{{"n", n}};
  PlacementRequest req;
  req.memory_bytes = 512 * MiB;
  req.cpus = 8;  // more than the node's cores: not reserved there
  CHECK(*place(nodes, req, {}, now) == "n");
  CHECK(*place(nodes, req, {}, now) == "n");
  CHECK(place(nodes, req, {}, now).error().code == ErrorCode::resource_exhausted);  // 20 - 2 x 8 < 8
  nodes["n"].reservations.clear();
  nodes["n"].cpus_reserved = true;
  CHECK_FALSE(place(nodes, req, {}, now).ok());
  req.cpus = 2;
  CHECK(place(nodes, req, {}, now).ok());
}
