// The audit outbox against a real RocksDB: events written with their state
// reach the chain oldest first, each leaves the outbox in the batch that
// stores its record, and an unreadable entry is kept aside, not lost and
// not in the way.
#include "audit/audit_outbox.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "audit/audit_log.h"

namespace {

using namespace soulbox;
using namespace soulbox::audit;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/soulbox-test-outbox-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Event event(const std::string& id, int64_t unix_ms) {
  return Event{id, unix_ms, "t1", "key-1", "sandbox.end", "sandbox/" + id, "ok", "node-a", "{}"};
}

size_t outbox_size(storage::Store& store, const std::string& prefix = "") {
  size_t n = 0;
  REQUIRE(store
              .scan(storage::Family::audit_outbox, prefix,
                    [&](const std::string&, const std::string&) {
                      ++n;
                      return true;
                    })
              .ok());
  return n;
}

}  // namespace

TEST_CASE("the audit outbox drains into the chain oldest first, and only once", "[unit][audit][outbox]") {
  TempDir dir;
  auto store = storage::Store::open({dir.path + "/state"});
  REQUIRE(store.ok());
  // Written in another order than their time, as batches of several actors are.
  for (const auto& e : {event("sb-2", 2000), event("sb-3", 3000), event("sb-1", 1000)})
    REQUIRE((*store)->write({{storage::Family::sandboxes, e.id, "record"}, outbox_write(e)}, true).ok());
  auto log = AuditLog::open(**store, {dir.path + "/key.pem", dir.path + "/checkpoints.jsonl", 100}, nullptr);
  REQUIRE(log.ok());

  auto drained = drain_outbox(**store, **log);
  REQUIRE(drained.ok());
  CHECK(*drained == 3);
  CHECK(outbox_size(**store) == 0);
  auto records = load_records(**store);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 3);
  CHECK((*records)[0].event.id == "sb-1");
  CHECK((*records)[1].event.id == "sb-2");
  CHECK((*records)[2].event.id == "sb-3");
  CHECK(verify_links(*records).ok);

  auto again = drain_outbox(**store, **log);
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

TEST_CASE("an unreadable outbox entry is kept aside and the rest still drain", "[unit][audit][outbox][poison]") {
  TempDir dir;
  auto store = storage::Store::open({dir.path + "/state"});
  REQUIRE(store.ok());
  REQUIRE((*store)->write({outbox_write(event("sb-1", 1000))}, true).ok());
  REQUIRE((*store)->put(storage::Family::audit_outbox, "00000000000000001500/bad", R"({"id":7})", true).ok());
  REQUIRE((*store)->write({outbox_write(event("sb-2", 2000))}, true).ok());
  auto log = AuditLog::open(**store, {dir.path + "/key.pem", dir.path + "/checkpoints.jsonl", 100}, nullptr);
  REQUIRE(log.ok());

  auto drained = drain_outbox(**store, **log);
  REQUIRE(drained.ok());
  CHECK(*drained == 2);
  CHECK(outbox_size(**store) == 1);
  CHECK(outbox_size(**store, "~unreadable/") == 1);
  // Kept aside, it does not stop later drains.
  REQUIRE((*store)->write({outbox_write(event("sb-3", 3000))}, true).ok());
  auto later = drain_outbox(**store, **log);
  REQUIRE(later.ok());
  CHECK(*later == 1);
  CHECK(outbox_size(**store) == 1);
}
