#include "daemon/audit_replay_command.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bus/jetstream.h"
#include "bus/subjects.h"
#include "client/client.h"
#include "storage/store.h"
#include "tenants/audit_replay.h"
#include "tenants/record_seal.h"
#include "tenants/secret_box.h"
#include "tenants/tenant_view_store.h"

namespace soulbox::daemon {
namespace {
namespace subjects = bus::subjects;

int fail(const std::string& what) {
  std::cerr << "soulboxd audit: " << what << "\n";
  return 2;
}

Result<std::unique_ptr<bus::Connection>> connect(const AuditCommand& c) {
  bus::ConnectOptions o{c.nats_url, c.nats_user, c.nats_password, "soulboxd-audit"};
  if (o.url.empty()) {
    auto ready = client::read_ready_file(c.data_dir + "/soulboxd.json");
    if (!ready) return ready.error();
    o = ready->connect;
    o.name = "soulboxd-audit";
  }
  return bus::Connection::connect(o);
}

// Every node's records in stream order; each node's chain must be whole
// (sequence 1, 2, ... with each record linked to the one before).
struct Replayed {
  tenants::ReplayState state;
  std::map<std::string, uint64_t> records_per_node;
};

Result<Replayed> replay_stream(bus::JetStream& js) {
  auto stored = js.read_all(subjects::kAuditStream, "sb.v1.audit.events.>");
  if (!stored) return stored.error();
  Replayed out;
  std::map<std::string, audit::Record> last;  // per node
  std::vector<audit::Event> events;
  for (const auto& m : *stored) {
    const std::string node = m.subject.substr(m.subject.rfind('.') + 1);
    auto record = audit::decode_record(m.data);
    if (!record) {
      out.state.problems.push_back("stream seq " + std::to_string(m.seq) + " (" + node + "): unreadable record");
      continue;
    }
    auto prev = last.find(node);
    const uint64_t want = prev == last.end() ? 1 : prev->second.seq + 1;
    if (record->seq != want || (prev != last.end() && record->prev_hash != prev->second.hash))
      out.state.problems.push_back("node " + node + ": record " + std::to_string(record->seq) + " where " +
                                   std::to_string(want) + " (linked to the one before) belongs");
    ++out.records_per_node[node];
    events.push_back(record->event);
    last[node] = std::move(*record);
  }
  auto problems = std::move(out.state.problems);
  out.state = tenants::replay(events);
  out.state.problems.insert(out.state.problems.begin(), problems.begin(), problems.end());
  return out;
}

// The live state: the newest tenant and usage record per subject on SB_EVENTS.
struct Live {
  std::map<std::string, tenants::TenantRecord> tenants;
  std::map<std::string, tenants::Usage> usage;
};

// Tenant records count only with a seal of the cluster's key (`seal`), as
// on the nodes themselves.
Result<Live> live_state(bus::JetStream& js, const tenants::RecordSeal& seal) {
  Live live;
  auto records = js.read_all(subjects::kEventsStream, subjects::tenant_events_all());
  if (!records) return records.error();
  for (const auto& m : *records) {
    auto opened = seal.open(m.data);
    if (!opened) continue;
    if (auto t = tenants::decode_tenant(*opened)) live.tenants[t->name] = std::move(*t);
  }
  auto usage = js.read_all(subjects::kEventsStream, "sb.v1.events.usage.>");
  if (!usage) return usage.error();
  for (const auto& m : *usage)
    if (auto u = tenants::decode_usage(m.data)) live.usage[m.subject.substr(m.subject.rfind('.') + 1)] = *u;
  return live;
}

// The tenant view a node keeps in RocksDB (opened read-only beside the
// running daemon); nullopt when the data dir has no store.
Result<std::optional<tenants::StoredView>> stored_view(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/state/CURRENT")) return std::optional<tenants::StoredView>();
  storage::StoreOptions o;
  o.path = data_dir + "/state";
  o.read_only = true;
  auto store = storage::Store::open(o);
  if (!store) return store.error();
  auto view = tenants::load_view(**store);
  if (!view) return view.error();
  return std::optional<tenants::StoredView>(std::move(*view));
}

std::string node_name(const std::string& data_dir) {
  auto ready = client::read_ready_file(data_dir + "/soulboxd.json");
  return ready ? ready->node : data_dir;
}

// A connection and its JetStream context (which must not outlive it).
struct Session {
  std::unique_ptr<bus::Connection> connection;
  std::unique_ptr<bus::JetStream> js;
};

Result<Session> open_session(const AuditCommand& c) {
  Session s;
  auto connection = connect(c);
  if (!connection) return connection.error();
  s.connection = std::move(*connection);
  auto js = bus::JetStream::open(*s.connection);
  if (!js) return js.error();
  s.js = std::move(*js);
  return s;
}

}  // namespace

int run_audit_replay(const AuditCommand& c) {
  auto session = open_session(c);
  if (!session) return fail(session.error().message);
  auto replayed = replay_stream(*session->js);
  if (!replayed) return fail(replayed.error().message);
  auto box = tenants::SecretBox::load_or_create(c.secrets_key.empty() ? c.data_dir + "/secrets.key" : c.secrets_key);
  if (!box) return fail("secrets key: " + box.error().message);
  auto live = live_state(*session->js, tenants::RecordSeal((*box)->derive_key(tenants::kRecordSealPurpose)));
  if (!live) return fail(live.error().message);
  const auto& state = replayed->state;
  std::cout << "replayed " << state.events << " audit events (" << state.applied << " change state) from "
            << replayed->records_per_node.size() << " node(s):";
  for (const auto& [node, n] : replayed->records_per_node) std::cout << " " << node << "=" << n;
  std::cout << "\n";
  for (const auto& [name, t] : state.tenants)
    std::cout << "  tenant " << name << ": " << t.keys.size() << " key(s), " << t.secrets.size()
              << " secret(s), running " << t.usage.running << ", created " << t.usage.created_total << ", cpus "
              << t.usage.cpus << ", memory " << (t.usage.memory_bytes >> 20) << " MiB\n";
  for (const auto& p : state.problems) std::cout << "problem: " << p << "\n";
  auto differences = tenants::compare_with_live(state, live->tenants, live->usage);
  // The node's own view in RocksDB (when --data-dir holds one) must agree too.
  auto node_view = stored_view(c.data_dir);
  if (!node_view) return fail(node_view.error().message);
  if (*node_view) {
    for (const auto& d : tenants::compare_with_live(state, (*node_view)->tenants, live->usage))
      differences.push_back("node view (RocksDB, seq " + std::to_string((*node_view)->last_seq) + "): " + d);
  }
  for (const auto& d : differences) std::cout << "differs: " << d << "\n";
  if (!differences.empty() || !state.problems.empty()) {
    std::cout << "replay does NOT equal the live state (" << differences.size() << " difference(s), "
              << state.problems.size() << " problem(s))\n";
    return 1;
  }
  std::cout << "replay equals the live state: " << live->tenants.size() << " tenant record(s), " << live->usage.size()
            << " usage record(s) on SB_EVENTS"
            << (*node_view ? " and node " + node_name(c.data_dir) + "'s RocksDB view" : std::string()) << "\n";
  return 0;
}

int run_audit_usage(const AuditCommand& c) {
  auto session = open_session(c);
  if (!session) return fail(session.error().message);
  auto replayed = replay_stream(*session->js);
  if (!replayed) return fail(replayed.error().message);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const int64_t to = c.to_ms ? c.to_ms : now;
  const int64_t from = c.from_ms ? c.from_ms : to - 24 * 3600 * 1000;
  if (from >= to) return fail("--from-ms must be before --to-ms");
  const tenants::Prices prices{c.price_cpu_hour, c.price_gib_hour, c.price_sandbox};
  nlohmann::json report = nlohmann::json::array();
  for (const auto& [name, t] : replayed->state.tenants) {
    if (!c.tenant.empty() && name != c.tenant) continue;
    const auto r = tenants::usage_report(t.spans, from, to, prices);
    report.push_back({{"tenant", name},
                      {"from_ms", from},
                      {"to_ms", to},
                      {"sandboxes", r.sandboxes},
                      {"cpu_hours", r.cpu_hours},
                      {"gib_hours", r.gib_hours},
                      {"cost", r.cost}});
  }
  std::cout << report.dump(2) << "\n";
  return 0;
}

}  // namespace soulbox::daemon
