// The host id ranges of sandboxes (isolation/userns.h): how many there are,
// where they lie, and how the slot files that lease them behave.
#include <stdlib.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <vector>

#include "isolation/userns.h"

namespace fs = std::filesystem;
using namespace soulbox::isolation;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/soulbox-idslots-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Each lease holds one file descriptor: lift the soft limit to the hard one.
rlim_t raise_open_files() {
  struct rlimit r {};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

}  // namespace

// A node held at most 4,096 sandboxes: every id range was in use after that.
TEST_CASE("the id-slot allocator hands out more than 4096 distinct host id ranges", "[isolation][density]") {
  constexpr size_t kWanted = 5000;
  if (raise_open_files() < kWanted + 100) {
    WARN("RLIMIT_NOFILE's hard limit is below " << kWanted + 100 << ": not checked");
    return;
  }
  TempDir dir;
  IdRangeAllocator ids((dir.path / "id-slots").string(), kFirstHostId, kIdSlots);
  std::vector<IdRange> held;
  std::set<uint32_t> bases;
  for (size_t i = 0; i < kWanted; ++i) {
    auto range = ids.acquire();
    INFO("range " << i << ": " << (range ? "" : range.error().message));
    REQUIRE(range.ok());
    // Whole ranges below 2^31: ids above it are treated as negative by some tools.
    REQUIRE(uint64_t(range->host_base) + kIdsPerSandbox <= (uint64_t(1) << 31));
    REQUIRE(range->host_base >= kFirstHostId);
    bases.insert(range->host_base);
    held.push_back(std::move(*range));
  }
  CHECK(bases.size() == kWanted);
}

TEST_CASE("the id ranges lie above the host's subordinate ids and below 2^31", "[isolation][density]") {
  CHECK(kFirstHostId > 600100000u);  // login.defs' SUB_UID_MAX and SUB_GID_MAX on Debian
  CHECK(kFirstHostId % kIdsPerSandbox == 0);
  CHECK(uint64_t(kFirstHostId) + uint64_t(kIdSlots) * kIdsPerSandbox <= kHostIdEnd);
  CHECK(kHostIdEnd <= 0x7FFE0000u);  // systemd's foreign id range starts there, 2^31 a little above
  CHECK(kIdSlots >= 10000);
}

TEST_CASE("subordinate id files are parsed and their ranges are never handed out", "[isolation][density]") {
  const auto ranges = parse_subordinate_ids(
      "alice:100000:65536\n# "
      "comment\nbob:not-a-number:5\ndave:-5:10\n1001:200000:0\ncarol:300000:65536:extra\nx:7:3\n");
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0].first == 100000);
  CHECK(ranges[0].count == 65536);
  CHECK(ranges[1].first == 7);
  CHECK(ranges[1].count == 3);

  // 8 slots from 2^20; a range over the end of slot 1 and the start of slot 2,
  // and one that ends exactly where slot 5 starts.
  const uint32_t first = 1u << 20;
  const std::vector<HostIdRange> reserved{{first + kIdsPerSandbox + 10, kIdsPerSandbox},
                                          {first + 4 * kIdsPerSandbox, kIdsPerSandbox}};
  const auto usable = usable_slots(first, 8, reserved);
  CHECK(usable == std::vector<bool>{true, false, false, true, false, true, true, true});

  TempDir dir;
  IdRangeAllocator ids((dir.path / "slots").string(), first, 8, reserved);
  std::set<uint32_t> bases;
  std::vector<IdRange> held;
  for (int i = 0; i < 5; ++i) {
    auto r = ids.acquire();
    REQUIRE(r.ok());
    bases.insert(r->host_base);
    held.push_back(std::move(*r));
  }
  CHECK(bases == std::set<uint32_t>{first, first + 3 * kIdsPerSandbox, first + 5 * kIdsPerSandbox,
                                    first + 6 * kIdsPerSandbox, first + 7 * kIdsPerSandbox});
  auto sixth = ids.acquire();
  REQUIRE_FALSE(sixth.ok());
  CHECK(sixth.error().code == soulbox::ErrorCode::resource_exhausted);
  CHECK(sixth.error().message.find("all 5 sandbox id ranges are in use") != std::string::npos);
}

TEST_CASE("a released id range's slot file goes and the slot is leased again", "[isolation][density]") {
  TempDir dir;
  const fs::path slots = dir.path / "slots";
  IdRangeAllocator ids(slots.string(), 1u << 20, 2);
  auto a = ids.acquire();
  auto b = ids.acquire();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->host_base != b->host_base);
  CHECK(std::distance(fs::directory_iterator(slots), {}) == 2);
  REQUIRE_FALSE(ids.acquire().ok());
  const uint32_t freed = a->host_base;
  a->lease.reset();
  CHECK(std::distance(fs::directory_iterator(slots), {}) == 1);
  auto again = ids.acquire();
  REQUIRE(again.ok());
  CHECK(again->host_base == freed);
  // Another allocator (another process's, or one after a crash) sees the
  // leases held and takes what is free: a slot file whose lock nobody holds.
  IdRangeAllocator other(slots.string(), 1u << 20, 3);
  auto third = other.acquire();
  REQUIRE(third.ok());
  CHECK(third->host_base == (1u << 20) + 2 * kIdsPerSandbox);
  REQUIRE_FALSE(other.acquire().ok());
  b->lease.reset();
  again->lease.reset();
  third->lease.reset();
  CHECK(std::distance(fs::directory_iterator(slots), {}) == 0);
}
