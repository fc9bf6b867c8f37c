// Folding audit events into tenant state and usage, and comparing it with
// the live records: every kind of difference is reported, equal states are
// not.
#include "tenants/audit_replay.h"

#include <catch2/catch.hpp>

namespace {

using namespace soulbox;
using namespace soulbox::tenants;

audit::Event event(const std::string& tenant, const std::string& action, const std::string& resource,
                   const std::string& details, const std::string& result = "ok", int64_t ms = 1000) {
  audit::Event e;
  e.id = action + resource;
  e.unix_ms = ms;
  e.tenant = tenant;
  e.action = action;
  e.resource = resource;
  e.result = result;
  e.details = details;
  return e;
}

const std::string kAsk = R"({"quota_ask":{"cpus":1.5,"memory_bytes":1024,"disk_bytes":10}})";

std::vector<audit::Event> sample_events() {
  return {event("t", "tenant.upsert", "tenant/t", R"({"quota":{"max_concurrent":3}})"),
          event("t", "key.create", "key/k1", R"({"roles":["developer"],"expires_unix_ms":0})"),
          event("t", "key.create", "key/k2", R"({"roles":["viewer"],"expires_unix_ms":99})"),
          event("t", "key.revoke", "key/k2", "{}"),
          event("t", "secret.set", "secret/t/TOKEN", "{}"),
          event("t", "sandbox.create", "sandbox/a", kAsk, "ok", 0),
          event("t", "sandbox.create", "sandbox/b", kAsk, "ok", 0),
          event("t", "sandbox.create", "sandbox/", kAsk, "error"),  // spent and given back
          event("t", "sandbox.kill", "sandbox/a", kAsk, "ok", 3600000),
          event("t", "file.read", "sandbox/b:/x", "{}"),       // changes nothing
          event("t", "key.create", "key/k3", "{}", "error")};  // failed: changes nothing
}

ReplayState sample() {
  return replay(sample_events());
}

TenantRecord live_record() {
  TenantRecord r;
  r.name = "t";
  r.quota.max_concurrent = 3;
  r.keys["k1"] = KeyRecord{"hash1", {"developer"}, 0, false};
  r.keys["k2"] = KeyRecord{"hash2", {"viewer"}, 99, true};
  r.secrets["TOKEN"] = "sealed";
  return r;
}

Usage live_usage() {
  Usage u;
  u.running = 1;
  u.created_total = 3;
  u.cpus = 1.5;
  u.memory_bytes = 1024;
  u.storage_bytes = 10;
  return u;
}

TEST_CASE("a replay folds changes and usage, and equals a live state that says the same", "[audit][tenants]") {
  const ReplayState s = sample();
  CHECK(s.problems.empty());
  CHECK(s.events == 11);
  const ReplayedTenant& t = s.tenants.at("t");
  CHECK(t.usage.running == 1);
  CHECK(t.usage.created_total == 3);
  CHECK(t.keys.size() == 2);
  CHECK(t.keys.at("k2").revoked);
  CHECK(compare_with_live(s, {{"t", live_record()}}, {{"t", live_usage()}}).empty());
  // Usage of the period: b runs from 0 to the end, a for its first hour.
  const auto report = usage_report(t.spans, 0, 2 * 3600000, Prices{2, 0, 1});
  CHECK(report.sandboxes == 2);
  CHECK(report.cpu_hours == Approx(1.5 * 1 + 1.5 * 2));
  CHECK(report.cost == Approx(2 * 4.5 + 2));
}

TEST_CASE("every difference between replay and live state is reported", "[audit][tenants]") {
  const ReplayState s = sample();
  auto differs = [&](TenantRecord r, Usage u) { return compare_with_live(s, {{"t", r}}, {{"t", u}}); };
  TenantRecord r = live_record();
  r.keys["k2"].revoked = false;
  CHECK(differs(r, live_usage()).at(0).find("key k2 revoked: replayed yes, live no") != std::string::npos);
  r = live_record();
  r.keys["k9"] = KeyRecord{"h", {"admin"}, 0, false};
  CHECK(differs(r, live_usage()).at(0).find("key k9 live, never audited") != std::string::npos);
  r = live_record();
  r.keys["k1"].roles = {"admin"};
  CHECK(differs(r, live_usage()).size() == 1);
  r = live_record();
  r.quota.max_concurrent = 4;
  CHECK(differs(r, live_usage()).at(0).find("quota") != std::string::npos);
  r = live_record();
  r.secrets.clear();
  CHECK(differs(r, live_usage()).at(0).find("secrets") != std::string::npos);
  Usage u = live_usage();
  u.memory_bytes = 1;
  CHECK(differs(live_record(), u).at(0).find("memory_bytes: replayed 1024, live 1") != std::string::npos);
  TenantRecord other = live_record();
  other.name = "ghost";
  CHECK(compare_with_live(s, {{"t", live_record()}, {"ghost", other}}, {{"t", live_usage()}}).at(0) ==
        "tenant 'ghost': live, never audited");
  CHECK(compare_with_live(s, {}, {{"t", live_usage()}}).at(0) == "tenant 't': replayed, but no live record");
}

TEST_CASE("nodes' logs interleaved out of order replay to the same state", "[audit][tenants]") {
  // Node b published its key.create (SB_EVENTS seq 5) after node a's revoke
  // of that key (seq 6), and a sandbox's end before its create.
  std::vector<audit::Event> events = {event("t", "tenant.upsert", "tenant/t", R"({"quota":{},"events_seq":4})"),
                                      event("t", "key.revoke", "key/k1", R"({"events_seq":6})"),
                                      event("t", "key.create", "key/k1", R"({"roles":["viewer"],"events_seq":5})"),
                                      event("t", "sandbox.end", "sandbox/a", kAsk),
                                      event("t", "sandbox.create", "sandbox/a", kAsk)};
  const ReplayState s = replay(events);
  CHECK(s.problems.empty());
  CHECK(s.tenants.at("t").keys.at("k1").revoked);
  CHECK(s.tenants.at("t").usage.running == 0);
  CHECK(s.tenants.at("t").usage.created_total == 1);
}

TEST_CASE("events a replay cannot apply are problems, not silently skipped", "[audit][tenants]") {
  const ReplayState s =
      replay({event("t", "key.revoke", "key/never", "{}"), event("t", "tenant.upsert", "tenant/t", "not json")});
  REQUIRE(s.problems.size() == 2);
  CHECK(s.problems[0].find("not a JSON object") != std::string::npos);            // found while reading
  CHECK(s.problems[1].find("revokes a key never created") != std::string::npos);  // found while folding
}

}  // namespace
