// Tenants on SB_EVENTS across two real soulboxd processes: quotas hold under
// parallel creates on both nodes, and a revoked key stops working on the
// other node within seconds.
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "bus/subjects.h"
#include "client/jobs.h"
#include "tenants/api_key.h"
#include "tests/support/daemon_env.h"
#include "tests/support/eventually.h"
#include "tests/support/sandbox_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
namespace bp = busproto;
namespace subjects = bus::subjects;
using test::Daemon;

using test::eventually;

struct TwoNodes {
  Daemon a{{"--jobs-workers", "0", "--pool-min", "1"}};
  std::unique_ptr<Daemon> b;
  TwoNodes() {
    auto args = a.join_args();
    args.insert(args.end(), {"--node-id", "node-b", "--jobs-workers", "0", "--pool-min", "1"});
    b = std::make_unique<Daemon>(args);
  }
};

Status upsert(client::Client& c, const std::string& tenant, uint32_t max_concurrent) {
  auto r = c.call(subjects::tenant_op("upsert"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::TenantUpsert,
                          bp::CreateTenantUpsert(fbb, fbb.CreateString(tenant), max_concurrent).Union());
  });
  if (!r) return r.error();
  return {};
}

std::pair<std::string, std::string> create_key(client::Client& c, const std::string& tenant) {
  auto r = c.call(subjects::tenant_op("key-create"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto roles = fbb.CreateVectorOfStrings(std::vector<std::string>{"developer"});
    return std::make_pair(bp::Body::KeyCreate, bp::CreateKeyCreate(fbb, fbb.CreateString(tenant), roles).Union());
  });
  REQUIRE(r.ok());
  const auto* k = r->get().body_as_KeyCreated();
  return {k->key_id()->str(), k->token()->str()};
}

// Authenticates with one node's own view.
Result<std::string> auth_on(client::Client& c, const std::string& node, const std::string& token) {
  auto r = c.call(subjects::tenant_node_op("auth", node), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::Authenticate, bp::CreateAuthenticate(fbb, fbb.CreateString(token)).Union());
  });
  if (!r) return r.error();
  return r->get().body_as_Principal()->tenant()->str();
}

TEST_CASE("exactly N of N+M parallel creates on two nodes succeed at a quota of N", "[tenants]") {
  TwoNodes n;
  auto& c = n.a.client();
  REQUIRE(upsert(c, "quota-t", 3).ok());
  // Both nodes' views have the tenant once a key made after it authenticates on both.
  const auto key = create_key(c, "quota-t");
  REQUIRE(eventually([&] { return auth_on(c, "testnode", key.second).ok() && auth_on(c, "node-b", key.second).ok(); }));
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      client::CreateOptions o;
      o.tenant = "quota-t";
      o.node = i % 2 ? "node-b" : "testnode";
      auto r = (i % 2 ? n.b->client() : n.a.client()).create(o);
      if (r)
        ++ok;
      else if (r.error().code == ErrorCode::resource_exhausted)
        ++exhausted;
      else
        ++other;
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 3);
  CHECK(exhausted == 5);
  CHECK(other == 0);
  // Ending one gives its share back.
  auto live = c.list("testnode");
  auto live_b = n.b->client().list("node-b");
  REQUIRE(live.ok());
  REQUIRE(live_b.ok());
  const std::string victim = !live->empty() ? live->front().id : live_b->front().id;
  auto& owner = !live->empty() ? c : n.b->client();
  REQUIRE(owner.kill(victim).ok());
  client::CreateOptions again;
  again.tenant = "quota-t";
  again.node = "testnode";
  CHECK(eventually([&] { return c.create(again).ok(); }, 5000));
  CHECK(c.create(again).error().code == ErrorCode::resource_exhausted);
}

TEST_CASE("a key revoked on one node stops working on the other within seconds", "[tenants]") {
  TwoNodes n;
  auto& c = n.a.client();
  REQUIRE(upsert(c, "rev-t", 0).ok());
  const auto key = create_key(c, "rev-t");
  REQUIRE(eventually([&] { return auth_on(c, "node-b", key.second).ok(); }));
  CHECK(*auth_on(c, "node-b", key.second) == "rev-t");
  auto revoked = c.call(subjects::tenant_node_op("key-revoke", "testnode"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::KeyRevoke,
                          bp::CreateKeyRevoke(fbb, fbb.CreateString("rev-t"), fbb.CreateString(key.first)).Union());
  });
  REQUIRE(revoked.ok());
  const auto start = std::chrono::steady_clock::now();
  CHECK(eventually(
      [&] {
        auto r = auth_on(c, "node-b", key.second);
        return !r.ok() && r.error().code == ErrorCode::permission_denied;
      },
      5000));
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  // The key list shows it revoked and when it was last used (never its secret or hash).
  // (Any node answers; each writes a first use to the shared bucket within a second.)
  Result<client::OwnedReply> list = Error{ErrorCode::internal, "not asked"};
  CHECK(eventually(
      [&] {
        list = c.call(subjects::tenant_op("key-list"), [&](flatbuffers::FlatBufferBuilder& fbb) {
          return std::make_pair(bp::Body::KeyList, bp::CreateKeyList(fbb, fbb.CreateString("rev-t")).Union());
        });
        return list.ok() && list->get().body_as_KeyListReply()->keys()->size() == 1 &&
               list->get().body_as_KeyListReply()->keys()->Get(0)->last_used_unix_ms() > 0;
      },
      5000));
  REQUIRE(list.ok());
  const auto* keys = list->get().body_as_KeyListReply()->keys();
  REQUIRE(keys->size() == 1);
  CHECK(keys->Get(0)->key_id()->str() == key.first);
  CHECK(keys->Get(0)->revoked());
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  CHECK(keys->Get(0)->last_used_unix_ms() > now_ms - 60000);
  CHECK(keys->Get(0)->last_used_unix_ms() <= now_ms);
  // A wrong or malformed token is refused without saying which part was wrong.
  std::string wrong = key.second;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  CHECK(auth_on(c, "testnode", wrong).error().message == "invalid, expired or revoked API key");
  CHECK(auth_on(c, "testnode", "garbage").error().code == ErrorCode::permission_denied);
}

TEST_CASE("the embedded default prints a bootstrap admin key once, and it authenticates", "[tenants]") {
  Daemon d;
  d.keep_root = true;
  const std::string out = d.output();
  const auto at = out.find("sb_");
  REQUIRE(at != std::string::npos);
  const std::string token = out.substr(at, 59);
  auto who = auth_on(d.client(), "testnode", token);
  REQUIRE(who.ok());
  CHECK(*who == "default");
  CHECK(d.stop() == 0);
  Daemon again({}, d.root());
  CHECK(again.output().find("sb_", out.size()) == std::string::npos);  // not printed a second time
}

}  // namespace

namespace {

std::pair<std::string, std::string> key_with_role(client::Client& c, const std::string& tenant,
                                                  const std::string& role) {
  auto r = c.call(subjects::tenant_op("key-create"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto roles = fbb.CreateVectorOfStrings(std::vector<std::string>{role});
    return std::make_pair(bp::Body::KeyCreate, bp::CreateKeyCreate(fbb, fbb.CreateString(tenant), roles).Union());
  });
  REQUIRE(r.ok());
  const auto* k = r->get().body_as_KeyCreated();
  return {k->key_id()->str(), k->token()->str()};
}

TEST_CASE("each built-in role may do exactly its part of the matrix on a sandbox", "[tenants]") {
  Daemon d({"--jobs-workers", "0"});
  auto& c = d.client();
  REQUIRE(upsert(c, "rbac-t", 0).ok());
  std::map<std::string, std::string> keys;
  for (const char* role : {"admin", "developer", "viewer"}) keys[role] = key_with_role(c, "rbac-t", role).first;
  const auto last = key_with_role(c, "rbac-t", "viewer");  // made last: once it works, the view has them all
  REQUIRE(eventually([&] { return auth_on(c, "testnode", last.second).ok(); }));
  c.principal = "key:" + keys["admin"];
  client::CreateOptions o;
  o.tenant = "rbac-t";
  auto box = c.create(o);
  REQUIRE(box.ok());
  struct Case {
    const char* what;
    std::function<Status()> run;
    bool developer, viewer;
  };
  ProcessSpec ls;
  ls.argv = {"/bin/true"};
  const std::vector<Case> cases = {
      {"info (sandbox read)", [&] { return c.info(box->id).ok() ? Status() : Status(c.info(box->id).error()); }, true,
       true},
      {"file read",
       [&] { return c.stat(box->id, "/home/user").ok() ? Status() : Status(c.stat(box->id, "/home/user").error()); },
       true, true},
      {"exec (sandbox execute)",
       [&] {
         auto r = c.run(box->id, ls);
         return r ? Status() : Status(r.error());
       },
       true, false},
      {"file write (create)", [&] { return c.write_file(box->id, "/home/user/x", "1"); }, true, false},
      {"refresh (sandbox update)",
       [&] {
         auto r = c.set_timeout(box->id, 600000);
         return r ? Status() : Status(r.error());
       },
       true, false},
      {"create (sandbox create)",
       [&] {
         auto r = c.create(o);
         if (r) (void)c.kill(r->id);
         return r ? Status() : Status(r.error());
       },
       true, false},
  };
  for (const auto& role : {"admin", "developer", "viewer"}) {
    c.principal = "key:" + keys[role];
    for (const auto& tc : cases) {
      INFO(role << ": " << tc.what);
      const bool allowed =
          std::string(role) == "admin" || (std::string(role) == "developer" ? tc.developer : tc.viewer);
      const Status st = tc.run();
      if (allowed)
        CHECK(st.ok());
      else
        CHECK((!st.ok() && st.error().code == ErrorCode::permission_denied));
    }
  }
  c.principal = "key:" + keys["viewer"];
  CHECK(c.kill(box->id).error().code == ErrorCode::permission_denied);
  c.principal = "key:ffffffffffff";  // no such key
  CHECK(c.info(box->id).error().code == ErrorCode::permission_denied);
  c.principal = "key:" + keys["developer"];
  CHECK(c.kill(box->id).ok());  // developers may delete sandboxes
}

}  // namespace

namespace {

TEST_CASE("a tenant secret reaches the sandbox's processes and never the log or the audit details", "[tenants]") {
  const std::string value = "s3cr3t-" + std::to_string(::getpid()) + "-value";
  std::string root;
  {
    Daemon d({"--jobs-workers", "0"});
    d.keep_root = true;
    root = d.root();
    auto& c = d.client();
    REQUIRE(upsert(c, "sec-t", 0).ok());
    auto set = c.call(subjects::tenant_op("secret-set"), [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(
          bp::Body::SecretSet,
          bp::CreateSecretSet(fbb, fbb.CreateString("sec-t"), fbb.CreateString("API_TOKEN"), fbb.CreateString(value))
              .Union());
    });
    REQUIRE(set.ok());
    client::CreateOptions o;
    o.tenant = "sec-t";
    o.secrets = {"API_TOKEN"};
    client::SandboxInfo box;
    REQUIRE(eventually([&] {  // once this node's view has the secret
      auto r = c.create(o);
      if (r) box = *r;
      return r.ok();
    }));
    ProcessSpec print;
    print.argv = {"/usr/bin/printenv", "API_TOKEN"};
    auto r = c.run(box.id, print);
    REQUIRE(r.ok());
    CHECK(r->out == value + "\n");
    o.secrets = {"NOPE"};
    CHECK(c.create(o).error().code == ErrorCode::not_found);
    REQUIRE(c.kill(box.id).ok());
    // Per process: only the process that names the secret gets it.
    o.secrets = {};
    auto plain = c.create(o);
    REQUIRE(plain.ok());
    auto without = c.run(plain->id, print);
    REQUIRE(without.ok());
    CHECK(without->out.empty());
    auto with = c.run(plain->id, print, 60000, {}, {"API_TOKEN"});
    REQUIRE(with.ok());
    CHECK(with->out == value + "\n");
    CHECK(c.run(plain->id, print, 60000, {}, {"NOPE"}).error().code == ErrorCode::not_found);
    REQUIRE(c.kill(plain->id).ok());
    CHECK(d.stop() == 0);
  }
  const std::string log = test::run_host({"/bin/cat", root + "/soulboxd.out"}).out;
  CHECK(log.find(value) == std::string::npos);
  auto exported =
      test::run_host({test::daemon_build_dir() + "/soulboxd", "audit", "--data-dir", root + "/data", "export"});
  REQUIRE(exported.exit_code == 0);
  CHECK(exported.out.find("\"action\":\"secret.read\"") != std::string::npos);
  CHECK(exported.out.find("secret/sec-t/API_TOKEN") != std::string::npos);
  CHECK(exported.out.find(R"(\"secret\":\"secret/sec-t/NOPE\")") != std::string::npos);  // per-process reads too
  CHECK(exported.out.find(value) == std::string::npos);
  auto grep = test::run_host({"/bin/grep", "-r", "-l", value, root + "/data/state"});
  CHECK(grep.out.empty());  // not in RocksDB either (the view keeps sealed values only)
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

}  // namespace

namespace {

TEST_CASE("jobs for a tenant with a record run only when signed by one of its keys that may execute", "[tenants]") {
  Daemon d({"--jobs-workers", "2"});
  auto& c = d.client();
  REQUIRE(upsert(c, "jobs-t", 0).ok());
  const auto dev = key_with_role(c, "jobs-t", "developer");
  const auto viewer = key_with_role(c, "jobs-t", "viewer");
  REQUIRE(upsert(c, "other-t", 0).ok());
  const auto foreign = key_with_role(c, "other-t", "admin");
  REQUIRE(eventually([&] { return auth_on(c, "testnode", foreign.second).ok(); }));
  std::mutex mu;
  std::map<std::string, client::JobResultView> results;
  auto sub = c.connection().subscribe("results.auth.>", "", [&](bus::Message m) {
    auto r = client::decode_job_result(m.data);
    std::lock_guard<std::mutex> lock(mu);
    if (r) results[r->job_id] = *r;
  });
  REQUIRE(sub.ok());
  REQUIRE(c.connection().flush(2000).ok());
  auto pub = client::JobPublisher::open(c.connection());
  REQUIRE(pub.ok());
  auto job = [](const std::string& id, const std::string& key) {
    client::JobSpec j;
    j.job_id = id;
    j.language = "sh";
    j.code = "echo ran";
    j.reply_subject = "results.auth." + id;
    j.api_key = key;
    return j;
  };
  REQUIRE((*pub)->publish("jobs-t", job("unsigned", "")).ok());
  REQUIRE((*pub)->publish("jobs-t", job("by-viewer", viewer.second)).ok());
  REQUIRE((*pub)->publish("jobs-t", job("by-other-tenant", foreign.second)).ok());
  REQUIRE((*pub)->publish("jobs-t", job("by-developer", dev.second)).ok());
  REQUIRE(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return results.size() == 4;
      },
      30000));
  std::lock_guard<std::mutex> lock(mu);
  for (const char* id : {"unsigned", "by-viewer", "by-other-tenant"}) {
    INFO(id);
    CHECK(results[id].status == "failed");
    CHECK(results[id].error_code == ErrorCode::permission_denied);
    CHECK(results[id].out.empty());
  }
  CHECK(results["by-developer"].status == "completed");
  CHECK(results["by-developer"].out == "ran\n");
  // A refused publish does not decide what the real job with that id gets.
  CHECK((*pub)->lookup("jobs-t", "unsigned").error().code == ErrorCode::not_found);
}

}  // namespace

namespace {

Status call_ok(
    client::Client& c, const std::string& subject,
    const std::function<std::pair<bp::Body, flatbuffers::Offset<void>>(flatbuffers::FlatBufferBuilder&)>& body) {
  auto r = c.call(subject, body);
  if (!r) return r.error();
  return {};
}

Status define_role(client::Client& c, const std::string& tenant, const std::string& name,
                   const std::vector<std::string>& parents, const std::vector<std::string>& permissions);
Status set_key_roles(client::Client& c, const std::string& tenant, const std::string& key_id,
                     const std::vector<std::string>& roles);

test::HostRun audit_tool(const std::vector<std::string>& args) {
  std::vector<std::string> argv{test::daemon_build_dir() + "/soulboxd", "audit"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_host(argv);
}

TEST_CASE("audit replay rebuilds tenants and usage equal to the live state, across a node killed with -9",
          "[tenants][audit]") {
  TwoNodes n;
  n.b->keep_root = true;
  auto& c = n.a.client();
  REQUIRE(upsert(c, "replay-t", 4).ok());
  REQUIRE(upsert(c, "replay-u", 0).ok());
  const auto dev = key_with_role(c, "replay-t", "developer");
  const auto viewer = key_with_role(c, "replay-t", "viewer");
  REQUIRE(call_ok(c, subjects::tenant_op("key-revoke"), [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(
                bp::Body::KeyRevoke,
                bp::CreateKeyRevoke(fbb, fbb.CreateString("replay-t"), fbb.CreateString(viewer.first)).Union());
          }).ok());
  REQUIRE(call_ok(c, subjects::tenant_op("secret-set"), [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(
                bp::Body::SecretSet,
                bp::CreateSecretSet(fbb, fbb.CreateString("replay-t"), fbb.CreateString("TOKEN"), fbb.CreateString("v"))
                    .Union());
          }).ok());
  REQUIRE(define_role(c, "replay-t", "runner", {"viewer"}, {"sandbox:execute:own"}).ok());
  REQUIRE(set_key_roles(c, "replay-t", dev.first, {"developer", "runner"}).ok());
  REQUIRE(eventually([&] { return auth_on(c, "node-b", dev.second).ok(); }));
  CHECK(!auth_on(c, "testnode", "sb_nosuchkey0_" + std::string(43, 'A')).ok());  // a failed login, audited

  auto create_on = [&](Daemon& d, const std::string& node, const std::string& tenant) {
    client::CreateOptions o;
    o.tenant = tenant;
    o.node = node;
    return d.client().create(o);
  };
  auto a1 = create_on(n.a, "testnode", "replay-t");
  auto a2 = create_on(n.a, "testnode", "replay-t");
  REQUIRE(create_on(*n.b, "node-b", "replay-t").ok());
  REQUIRE(create_on(*n.b, "node-b", "replay-t").ok());
  REQUIRE(create_on(*n.b, "node-b", "replay-u").ok());
  REQUIRE(a1.ok());
  REQUIRE(a2.ok());
  REQUIRE(c.kill(a1->id).ok());
  REQUIRE(create_on(n.a, "testnode", "replay-t").ok());
  CHECK(create_on(n.a, "testnode", "replay-t").error().code == ErrorCode::resource_exhausted);

  // Node b dies with three sandboxes; its restart gives their quota back.
  const std::string b_root = n.b->root();
  auto b_args = n.a.join_args();
  b_args.insert(b_args.end(), {"--node-id", "node-b", "--jobs-workers", "0", "--pool-min", "1"});
  n.b->kill9();
  n.b.reset();
  n.b = std::make_unique<Daemon>(b_args, b_root);
  CHECK(n.b->output().find("gave back the quota of 3 sandbox(es)") != std::string::npos);

  // Audit records reach SB_AUDIT asynchronously: the replay matches once they have.
  test::HostRun replay;
  CHECK(eventually(
      [&] {
        replay = audit_tool({"--data-dir", n.a.data_dir(), "replay"});
        return replay.exit_code == 0;
      },
      10000));
  INFO(replay.out << replay.err);
  CHECK(replay.out.find("replay equals the live state") != std::string::npos);
  CHECK(replay.out.find("tenant replay-t: 2 key(s), 1 secret(s), running 2, created 5") != std::string::npos);
  CHECK(replay.out.find("tenant replay-u: 0 key(s), 0 secret(s), running 0, created 1") != std::string::npos);
  CHECK(replay.out.find("node-b=") != std::string::npos);
  CHECK(replay.out.find("and node testnode's RocksDB view") != std::string::npos);

  auto usage = audit_tool({"--data-dir", n.a.data_dir(), "usage", "--tenant", "replay-t", "--price-sandbox", "2"});
  REQUIRE(usage.exit_code == 0);
  CHECK(usage.out.find("\"sandboxes\": 5") != std::string::npos);
  CHECK(usage.out.find("\"cost\": 10.0") != std::string::npos);

  // A live view that no longer says what the log says is reported.
  auto js = bus::JetStream::open(c.connection());
  REQUIRE(js.ok());
  REQUIRE((*js)
              ->publish(subjects::usage_events("replay-t"),
                        R"({"running":7,"created_total":5,"cpus":2,"memory_bytes":1073741824,"storage_bytes":0})", "")
              .ok());
  auto tampered = audit_tool({"--data-dir", n.a.data_dir(), "replay"});
  CHECK(tampered.exit_code == 1);
  CHECK(tampered.out.find("differs: tenant 'replay-t': running: replayed 2, live 7") != std::string::npos);
  std::error_code ec;
  n.b.reset();
  std::filesystem::remove_all(b_root, ec);
}

}  // namespace

namespace {

Status upsert_policy(client::Client& c, const std::string& tenant, uint64_t retention_s, bool redact) {
  auto r = c.call(subjects::tenant_op("upsert"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(
        bp::Body::TenantUpsert,
        bp::CreateTenantUpsert(fbb, fbb.CreateString(tenant), 0, 0, 0, 0, retention_s, redact).Union());
  });
  if (!r) return r.error();
  return {};
}

std::vector<std::string> output_lines(const std::string& out) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < out.size()) {
    const size_t end = out.find('\n', start);
    lines.push_back(out.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

TEST_CASE("per-tenant audit policy: retention erases old content, redaction hides people, the log still verifies",
          "[tenants][audit]") {
  Daemon d({"--jobs-workers", "0", "--audit-retention-every", "0.2"});
  auto& c = d.client();
  REQUIRE(upsert_policy(c, "ret-t", 1, false).ok());
  REQUIRE(upsert_policy(c, "red-t", 0, true).ok());
  REQUIRE(upsert_policy(c, "plain-t", 0, false).ok());
  const auto key = key_with_role(c, "red-t", "developer");
  REQUIRE(eventually([&] { return auth_on(c, "testnode", key.second).ok(); }));
  std::string wrong = key.second;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  CHECK(!auth_on(c, "testnode", wrong).ok());
  for (const char* tenant : {"ret-t", "plain-t", "red-t"}) {
    client::CreateOptions o;
    o.tenant = tenant;
    auto box = c.create(o);
    REQUIRE(box.ok());
    REQUIRE(c.write_file(box->id, "/home/user/notes-of-alice.txt", "x").ok());
    REQUIRE(c.kill(box->id).ok());
  }
  auto query = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", d.data_dir(), "query"});
    return audit_tool(args);
  };
  // ret-t keeps content for 1 s: then every one of its events is erased.
  CHECK(eventually(
      [&] {
        auto r = query({"--tenant", "ret-t"});
        const auto lines = output_lines(r.out);
        if (r.exit_code != 0 || lines.size() < 4) return false;
        for (const auto& l : lines)
          if (l.find("\"erased\":true") == std::string::npos) return false;
        return true;
      },
      10000));
  auto ret = query({"--tenant", "ret-t", "--action", "file.write"});
  CHECK(ret.out.find("notes-of-alice") == std::string::npos);
  CHECK(ret.out.find("\"action\":\"file.write\"") != std::string::npos);  // what happened stays countable
  // Others keep theirs; red-t's people and paths are pseudonymous in every format.
  auto plain = query({"--tenant", "plain-t", "--action", "file.write"});
  CHECK(plain.out.find("/home/user/notes-of-alice.txt") != std::string::npos);
  CHECK(plain.out.find("\"erased\":false") != std::string::npos);
  for (const char* format : {"json", "csv", "syslog"}) {
    INFO(format);
    auto red = query({"--tenant", "red-t", "--format", format});
    CHECK(red.exit_code == 0);
    CHECK(red.out.find("login.failure") != std::string::npos);
    CHECK(red.out.find(key.first) == std::string::npos);
    CHECK(red.out.find("notes-of-alice") == std::string::npos);
    CHECK(red.out.find("redacted-") != std::string::npos);
  }
  CHECK(output_lines(query({"--format", "csv", "--limit", "3"}).out).size() == 4);  // header + 3
  CHECK(query({"--format", "syslog", "--limit", "1"}).out.rfind("<85>1 ", 0) == 0);
  CHECK(query({"--format", "xml"}).exit_code == 2);
  auto report = audit_tool({"--data-dir", d.data_dir(), "report", "--tenant", "red-t"});
  CHECK(report.exit_code == 0);
  CHECK(report.out.find("\"failed_logins\": 1") != std::string::npos);
  CHECK(report.out.find("\"log_verified\": true") != std::string::npos);
  CHECK(report.out.find(key.first) == std::string::npos);
  auto verified = audit_tool({"--data-dir", d.data_dir(), "verify"});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(verified.out.find("erased by retention") != std::string::npos);
}

}  // namespace

namespace {

Status define_role(client::Client& c, const std::string& tenant, const std::string& name,
                   const std::vector<std::string>& parents, const std::vector<std::string>& permissions) {
  return call_ok(c, subjects::tenant_op("role-set"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(
        bp::Body::RoleDefine,
        bp::CreateRoleDefine(fbb, fbb.CreateString(tenant), fbb.CreateString(name), fbb.CreateVectorOfStrings(parents),
                             fbb.CreateVectorOfStrings(permissions))
            .Union());
  });
}

Status set_key_roles(client::Client& c, const std::string& tenant, const std::string& key_id,
                     const std::vector<std::string>& roles) {
  return call_ok(c, subjects::tenant_op("key-roles"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(
        bp::Body::KeyRoles,
        bp::CreateKeyRoles(fbb, fbb.CreateString(tenant), fbb.CreateString(key_id), fbb.CreateVectorOfStrings(roles))
            .Union());
  });
}

TEST_CASE("a tenant's own roles with parents and own-only permissions, granted and revoked over the bus", "[tenants]") {
  Daemon d({"--jobs-workers", "0"});
  auto& c = d.client();
  REQUIRE(upsert(c, "roles-t", 0).ok());
  REQUIRE(define_role(c, "roles-t", "runner", {"viewer"}, {"sandbox:create", "sandbox:execute:own", "file:create:own"})
              .ok());
  // Refused definitions say why.
  CHECK(define_role(c, "roles-t", "admin", {}, {}).error().message.find("built-in") != std::string::npos);
  CHECK(define_role(c, "roles-t", "x", {"nope"}, {}).error().message.find("unknown parent role 'nope'") !=
        std::string::npos);
  CHECK(define_role(c, "roles-t", "x", {}, {"sandbox:fly"}).error().code == ErrorCode::invalid_argument);
  CHECK(define_role(c, "roles-t", "x", {}, {"sandbox:read:all"}).error().code == ErrorCode::invalid_argument);
  const auto admin = key_with_role(c, "roles-t", "admin");
  const auto runner = key_with_role(c, "roles-t", "runner");
  REQUIRE(eventually([&] { return auth_on(c, "testnode", runner.second).ok(); }));

  client::CreateOptions o;
  o.tenant = "roles-t";
  c.principal = "key:" + admin.first;
  auto admins = c.create(o);
  REQUIRE(admins.ok());
  c.principal = "key:" + runner.first;
  auto own = c.create(o);
  REQUIRE(own.ok());
  ProcessSpec t;
  t.argv = {"/bin/true"};
  CHECK(c.run(own->id, t).ok());
  CHECK(c.write_file(own->id, "/home/user/f", "1").ok());
  CHECK(c.info(admins->id).ok());  // viewer, inherited
  CHECK(c.run(admins->id, t).error().code == ErrorCode::permission_denied);
  CHECK(c.write_file(admins->id, "/home/user/f", "1").error().code == ErrorCode::permission_denied);
  CHECK(c.kill(own->id).error().code == ErrorCode::permission_denied);  // no delete, even on its own

  c.principal = "";
  REQUIRE(set_key_roles(c, "roles-t", runner.first, {"runner", "developer"}).ok());
  c.principal = "key:" + runner.first;
  CHECK(eventually([&] { return c.run(admins->id, t).ok(); }, 5000));
  c.principal = "";
  REQUIRE(set_key_roles(c, "roles-t", runner.first, {"viewer"}).ok());
  CHECK(set_key_roles(c, "roles-t", runner.first, {"wizard"}).error().code == ErrorCode::invalid_argument);
  CHECK(set_key_roles(c, "roles-t", "ffffffffffff", {"viewer"}).error().code == ErrorCode::not_found);
  c.principal = "key:" + runner.first;
  CHECK(eventually([&] { return !c.create(o).ok(); }, 5000));
  CHECK(c.create(o).error().code == ErrorCode::permission_denied);

  // Usage over the bus: two sandboxes running.
  c.principal = "";
  auto usage = c.call(subjects::tenant_op("usage"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::TenantUsage, bp::CreateTenantUsage(fbb, fbb.CreateString("roles-t")).Union());
  });
  REQUIRE(usage.ok());
  CHECK(usage->get().body_as_TenantUsage()->running() == 2);
  CHECK(usage->get().body_as_TenantUsage()->created_total() == 2);

  // The audit actor appends on its own thread: the events come soon, not at once.
  test::HostRun exported;
  CHECK(eventually([&] {
    exported = audit_tool({"--data-dir", d.data_dir(), "query", "--tenant", "roles-t", "--action", "permission."});
    return exported.out.find("permission.revoke") != std::string::npos;
  }));
  CHECK(exported.out.find("permission.grant") != std::string::npos);
  CHECK(exported.out.find("permission.revoke") != std::string::npos);
}

}  // namespace

namespace {

// Tenant records of every wrong shape decode_tenant meets: each must be
// skipped, counted and logged, never fatal.
const std::vector<std::pair<std::string, std::string>> kPoisonEvents = {
    {"poison-a", R"({"v":1,"name":42,"quota":"x","keys":[1,2]})"},
    {"poison-b", R"({"v":1,"name":"poison-b","quota":{"max_concurrent":"ten"}})"},
    {"poison-c", R"({"v":1,"name":"poison-c","quota":{"max_concurrent":1099511627776}})"},
    {"poison-d", R"({"v":1,"name":"poison-d","keys":{"k1":{"hash":5,"roles":["admin"]}}})"},
    {"poison-e", R"({"v":1,"name":"poison-e","keys":{"k1":{"hash":"h","roles":"admin"}}})"},
    {"poison-f", R"({"v":1,"name":"poison-f","keys":{"k1":{"hash":"h","expires_ms":"soon"}}})"},
    {"poison-g", R"({"v":1,"name":"poison-g","roles":{"r":{"parents":"admin"}}})"},
    {"poison-h", R"({"v":1,"name":"poison-h","roles":{"r":[1]}})"},
    {"poison-i", R"({"v":1,"name":"poison-i","secrets":{"S":7}})"},
    {"poison-j", R"({"v":1,"name":"poison-j","audit_policy":{"retention_s":-1,"redact":"yes"}})"},
    {"poison-k", "not json at all"},
    {"poison-l", "[1,2,3]"},
};

std::unique_ptr<bus::Connection> raw_bus(const Daemon& d) {
  auto bus = bus::Connection::connect(d.address().connect);
  REQUIRE(bus.ok());
  return std::move(*bus);
}

void publish_poison(bus::Connection& bus) {
  for (const auto& [tenant, data] : kPoisonEvents) REQUIRE(bus.publish(subjects::tenant_events(tenant), data).ok());
  REQUIRE(bus.flush(2000).ok());
}

}  // namespace

TEST_CASE("poison tenant events are skipped, counted and shown in health, at run time and at restart",
          "[tenants][poison]") {
  TwoNodes n;
  n.b->keep_root = true;
  auto bus = raw_bus(n.a);
  publish_poison(*bus);
  const uint64_t poison = kPoisonEvents.size();
  // Both nodes live on and count every event as unreadable.
  for (auto* d : {&n.a, n.b.get()})
    CHECK(eventually([&] {
      auto h = d->client().health(d->node());
      return h.ok() && h->unreadable_events >= poison;
    }));
  // A well-formed record without the cluster's seal (whoever could publish
  // it) is refused too: its key does not authenticate.
  auto forged_key = tenants::generate_key();
  REQUIRE(forged_key.ok());
  const std::string forged = R"({"v":1,"name":"forged","keys":{")" + forged_key->id + R"(":{"hash":")" +
                             forged_key->secret_hash + R"(","roles":["admin"]}}})";
  REQUIRE(bus->publish(subjects::tenant_events("forged"), forged).ok());
  REQUIRE(bus->flush(2000).ok());
  CHECK(eventually([&] {
    auto h = n.a.client().health(n.a.node());
    return h.ok() && h->unreadable_events >= poison + 1;
  }));
  CHECK_FALSE(auth_on(n.a.client(), n.a.node(), forged_key->token).ok());
  // Tenants still work: a real record after the poison is applied on both nodes.
  REQUIRE(upsert(n.a.client(), "after-poison", 2).ok());
  const auto key = create_key(n.a.client(), "after-poison");
  CHECK(eventually([&] { return auth_on(n.a.client(), "node-b", key.second).ok(); }));

  // A node that was down while poison was stored reads it at start and comes up.
  const std::string b_root = n.b->root();
  auto b_args = n.a.join_args();
  b_args.insert(b_args.end(), {"--node-id", "node-b", "--jobs-workers", "0", "--pool-min", "1"});
  n.b->kill9();
  n.b.reset();
  publish_poison(*bus);
  n.b = std::make_unique<Daemon>(b_args, b_root);
  auto h = n.b->client().health("node-b");
  REQUIRE(h.ok());
  CHECK(h->status == "healthy");
  CHECK(h->unreadable_events >= poison);
  CHECK(n.b->output().find("unreadable event skipped (SB_EVENTS sequence") != std::string::npos);
  CHECK(auth_on(n.b->client(), "node-b", key.second).ok());
  // The node's own node still counts the second batch.
  CHECK(eventually([&] {
    auto ha = n.a.client().health(n.a.node());
    return ha.ok() && ha->unreadable_events >= 2 * poison;
  }));
}
