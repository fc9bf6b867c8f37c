// actors/ended_records.h against a real RocksDB in a temporary directory.
#include "actors/ended_records.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "actors/sandbox_record.h"

using namespace soulbox;
using namespace soulbox::actors;
namespace bp = soulbox::busproto;

namespace {
struct TempStore {
  std::string path;
  std::unique_ptr<storage::Store> store;
  TempStore() {
    char tmpl[] = "/tmp/soulbox-test-ended-XXXXXX";
    path = ::mkdtemp(tmpl);
    auto s = storage::Store::open({path});
    REQUIRE(s.ok());
    store = std::move(*s);
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(path);
  }
};

constexpr int64_t kHour = 3600000;
constexpr int64_t kNow = 1800000000000;

// A sandbox made by create request `request`, ended `ended_ago` ms before kNow
// (or still running when negative).
SandboxRecord make(storage::Store& store, const std::string& id, const std::string& request, int64_t ended_ago) {
  SandboxRecord r;
  r.id = id;
  r.tenant = "t";
  r.created_unix_ms = kNow - 2 * kHour;
  r.state = bp::SandboxState::Running;
  REQUIRE(save_created_record(store, r, create_request_key("t", request)).ok());
  if (ended_ago >= 0) {
    r.state = bp::SandboxState::Terminated;
    r.ended_unix_ms = kNow - ended_ago;
    REQUIRE(save_record(store, r).ok());
  }
  return r;
}

bool has(storage::Store& store, storage::Family f, const std::string& key) {
  auto v = store.get(f, key);
  REQUIRE(v.ok());
  return v->has_value();
}
}  // namespace

TEST_CASE("records of sandboxes that ended before the retention go with their create request keys", "[unit][storage]") {
  TempStore t;
  auto& store = *t.store;
  make(store, "sb-old", "req-old", 2 * kHour);
  make(store, "sb-recent", "req-recent", kHour / 2);
  make(store, "sb-running", "req-running", -1);
  auto holding = make(store, "sb-holding-quota", "req-holding", 2 * kHour);
  holding.quota_ask = tenants::SandboxAsk{1, 1 << 20, 0};
  REQUIRE(save_record(store, holding).ok());
  // A record from before ended_unix_ms existed counts from its creation.
  auto legacy = make(store, "sb-legacy", "req-legacy", 0);
  legacy.ended_unix_ms = 0;
  REQUIRE(save_record(store, legacy).ok());

  auto forgotten = forget_ended_records(store, kNow, kHour);
  REQUIRE(forgotten.ok());
  CHECK(forgotten->records == 2);
  CHECK(forgotten->request_keys == 2);
  CHECK_FALSE(has(store, storage::Family::sandboxes, "sb-old"));
  CHECK_FALSE(has(store, storage::Family::applied, create_request_key("t", "req-old")));
  CHECK_FALSE(has(store, storage::Family::sandboxes, "sb-legacy"));
  CHECK_FALSE(has(store, storage::Family::applied, create_request_key("t", "req-legacy")));
  for (const std::string kept : {"recent", "running", "holding"}) {
    INFO(kept);
    CHECK(has(store, storage::Family::applied, create_request_key("t", "req-" + kept)));
  }
  CHECK(has(store, storage::Family::sandboxes, "sb-recent"));
  CHECK(has(store, storage::Family::sandboxes, "sb-running"));
  CHECK(has(store, storage::Family::sandboxes, "sb-holding-quota"));

  // Nothing left to forget: a second pass deletes nothing.
  auto again = forget_ended_records(store, kNow, kHour);
  REQUIRE(again.ok());
  CHECK(again->records == 0);
  CHECK(again->request_keys == 0);
}

TEST_CASE("one pass forgets at most the records it is given", "[unit][storage]") {
  TempStore t;
  for (int i = 0; i < 5; ++i) make(*t.store, "sb-" + std::to_string(i), "req-" + std::to_string(i), 2 * kHour);
  auto first = forget_ended_records(*t.store, kNow, kHour, 3);
  REQUIRE(first.ok());
  CHECK(first->records == 3);
  CHECK(first->request_keys == 3);
  auto rest = forget_ended_records(*t.store, kNow, kHour, 3);
  REQUIRE(rest.ok());
  CHECK(rest->records == 2);
  auto left = load_records(*t.store);
  REQUIRE(left.ok());
  CHECK(left->empty());
}
