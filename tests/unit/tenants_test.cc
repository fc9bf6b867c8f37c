// Tenant building blocks: API keys, the RBAC matrix of the built-in roles,
// quota admission and priced usage.
#include <catch2/catch.hpp>

#include "tenants/api_key.h"
#include "tenants/quota.h"
#include "tenants/rbac.h"

namespace {

using namespace soulbox;
using namespace soulbox::tenants;

TEST_CASE("API keys keep only a hash, parse strictly and match in constant time", "[tenants]") {
  auto k = generate_key();
  REQUIRE(k.ok());
  CHECK(k->token.rfind("sb_" + k->id + "_", 0) == 0);
  CHECK(k->token.find(k->secret_hash) == std::string::npos);
  auto parsed = parse_key(k->token);
  REQUIRE(parsed.ok());
  CHECK(parsed->id == k->id);
  CHECK(secret_matches(parsed->secret, k->secret_hash));
  std::string wrong = parsed->secret;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  CHECK_FALSE(secret_matches(wrong, k->secret_hash));
  CHECK(generate_key()->token != k->token);
  for (const std::string& bad : std::vector<std::string>{"", "sb_", "sk_" + k->token.substr(3), k->token + "x",
                                                         k->token.substr(0, 20), "sb_ZZZZZZZZZZZZ_" + parsed->secret})
    CHECK(parse_key(bad).error().code == ErrorCode::invalid_argument);
  CHECK(parse_key("sb_" + k->id + "_" + std::string(43, '!')).error().message.find("!!!") == std::string::npos);
}

TEST_CASE("the built-in roles grant exactly their matrix", "[tenants]") {
  const RoleSet roles = builtin_roles();
  const Action all[] = {Action::create,  Action::read,    Action::update, Action::delete_,
                        Action::execute, Action::connect, Action::admin};
  for (Action a : all) {
    INFO(action_name(a));
    CHECK(authorize(roles, {"admin"}, Resource::sandbox, a, false));
    CHECK(authorize(roles, {"admin"}, Resource::system, a, false));
    CHECK(authorize(roles, {"developer"}, Resource::sandbox, a, false) == (a != Action::admin));
    CHECK_FALSE(authorize(roles, {"developer"}, Resource::system, a, false));
    CHECK(authorize(roles, {"viewer"}, Resource::sandbox, a, false) == (a == Action::read));
    CHECK_FALSE(authorize(roles, {"viewer"}, Resource::system, a, false));
    CHECK_FALSE(authorize(roles, {}, Resource::sandbox, a, true));
    CHECK_FALSE(authorize(roles, {"nobody"}, Resource::sandbox, a, true));
  }
}

TEST_CASE("custom roles inherit, honour own-only conditions and survive cycles", "[tenants]") {
  RoleSet roles = builtin_roles();
  roles["runner"] = Role{"runner", {"viewer"}, {{Resource::sandbox, Action::execute, true}}};
  roles["a"] = Role{"a", {"b"}, {}};
  roles["b"] = Role{"b", {"a"}, {}};
  CHECK(authorize(roles, {"runner"}, Resource::sandbox, Action::execute, true));
  CHECK_FALSE(authorize(roles, {"runner"}, Resource::sandbox, Action::execute, false));
  CHECK(authorize(roles, {"runner"}, Resource::file, Action::read, false));  // from viewer
  CHECK_FALSE(authorize(roles, {"a"}, Resource::sandbox, Action::read, true));
  CHECK(*parse_action("delete") == Action::delete_);
  CHECK(*parse_resource("template") == Resource::template_);
  CHECK_FALSE(parse_action("destroy").ok());
}

TEST_CASE("quotas admit up to each limit and name the one that is reached", "[tenants]") {
  Quota q;
  q.max_concurrent = 2;
  q.max_memory_bytes = 1536ull << 20;
  Usage u;
  SandboxAsk ask;
  REQUIRE(admit(q, u, ask).ok());
  u = started(u, ask);
  REQUIRE(admit(q, u, ask).ok());
  u = started(u, ask);
  auto third = admit(q, u, ask);
  CHECK(third.error().code == ErrorCode::resource_exhausted);
  CHECK(third.error().message.find("running sandboxes") != std::string::npos);
  u = ended(u, ask);
  SandboxAsk big = ask;
  big.memory_bytes = 1280ull << 20;  // 512 MiB running + 1280 MiB > 1536 MiB
  CHECK(admit(q, u, big).error().message.find("memory") != std::string::npos);
  CHECK(admit(q, u, ask).ok());
  CHECK(u.created_total == 2);
}

TEST_CASE("usage over a period is prorated and priced", "[tenants]") {
  const int64_t h = 3600000;
  std::vector<SandboxSpan> spans = {{0, 2 * h, 2, 1ull << 30}, {h, 0, 1, 2ull << 30}, {-5 * h, -4 * h, 8, 1ull << 30}};
  Prices p{0.10, 0.01, 0.001};
  auto r = usage_report(spans, h, 3 * h, p);
  CHECK(r.sandboxes == 1);                      // only the second started inside
  CHECK(r.cpu_hours == Approx(2 * 1 + 1 * 2));  // first: 1 h at 2 cpus, second: 2 h at 1 cpu
  CHECK(r.gib_hours == Approx(1 * 1 + 2 * 2));
  CHECK(r.cost == Approx(4 * 0.10 + 5 * 0.01 + 0.001));
}

}  // namespace

#include "tenants/secret_box.h"

namespace {

TEST_CASE("secrets are sealed with AES-256-GCM and open only for their tenant and name", "[tenants]") {
  auto box = soulbox::tenants::SecretBox::from_key(std::string(32, 'k'));
  auto sealed = box->seal("hunter2", "t1/DB_PASSWORD");
  REQUIRE(sealed.ok());
  CHECK(sealed->find("hunter2") == std::string::npos);
  CHECK(*box->seal("hunter2", "t1/DB_PASSWORD") != *sealed);  // a fresh nonce each time
  CHECK(*box->open(*sealed, "t1/DB_PASSWORD") == "hunter2");
  CHECK(box->open(*sealed, "t2/DB_PASSWORD").error().code == soulbox::ErrorCode::permission_denied);
  CHECK_FALSE(soulbox::tenants::SecretBox::from_key(std::string(32, 'x'))->open(*sealed, "t1/DB_PASSWORD").ok());
  std::string flipped = *sealed;
  flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';
  CHECK_FALSE(box->open(flipped, "t1/DB_PASSWORD").ok());
  CHECK(*box->open(*box->seal("", "t1/EMPTY"), "t1/EMPTY") == "");
}

}  // namespace

namespace {

TEST_CASE("permissions parse strictly and a tenant's own roles are checked before use", "[tenants]") {
  using namespace soulbox::tenants;
  auto p = parse_permission("file:read:own");
  REQUIRE(p.ok());
  CHECK(p->resource == Resource::file);
  CHECK(p->action == Action::read);
  CHECK(p->own_only);
  CHECK(permission_string(*p) == "file:read:own");
  CHECK(permission_string(*parse_permission("template:delete")) == "template:delete");
  for (const char* bad : {"", "file", "file:", ":read", "file:read:", "file:read:all", "disk:read", "file:fly"})
    CHECK(parse_permission(bad).error().code == soulbox::ErrorCode::invalid_argument);
  RoleSet defined = builtin_roles();
  CHECK(check_custom_role(defined, Role{"runner", {"viewer"}, {}}).ok());
  CHECK_FALSE(check_custom_role(defined, Role{"developer", {}, {}}).ok());
  CHECK_FALSE(check_custom_role(defined, Role{"Runner", {}, {}}).ok());
  CHECK_FALSE(check_custom_role(defined, Role{"runner", {"ghost"}, {}}).ok());
  CHECK_FALSE(check_custom_role(defined, Role{"runner", {"runner"}, {}}).ok());
  defined["runner"] = Role{"runner", {"viewer"}, {*parse_permission("sandbox:execute:own")}};
  CHECK(authorize(defined, {"runner"}, Resource::sandbox, Action::execute, /*is_owner=*/true));
  CHECK_FALSE(authorize(defined, {"runner"}, Resource::sandbox, Action::execute, /*is_owner=*/false));
  CHECK(authorize(defined, {"runner"}, Resource::file, Action::read, false));  // from viewer
}

}  // namespace

#include "tenants/tenant_record.h"

TEST_CASE("tenant records of the wrong shape are errors naming the field, never exceptions", "[tenants][poison]") {
  using soulbox::tenants::decode_tenant;
  const std::pair<const char*, const char*> poison[] = {
      {R"({"v":1,"name":42,"quota":"x","keys":[1,2]})", "'name' must be a string"},
      {R"({"name":"t","quota":"x"})", "'quota' must be an object"},
      {R"({"name":"t","quota":{"max_concurrent":"ten"}})", "'max_concurrent' must be an unsigned integer"},
      {R"({"name":"t","quota":{"max_concurrent":1099511627776}})", "'max_concurrent' must be an unsigned integer"},
      {R"({"name":"t","quota":{"max_cpus":"many"}})", "'max_cpus' must be a number"},
      {R"({"name":"t","keys":[1,2]})", "'keys' must be an object"},
      {R"({"name":"t","keys":{"k":{"hash":5}}})", "key 'k': 'hash' must be a string"},
      {R"({"name":"t","keys":{"k":7}})", "key 'k' is not an object"},
      {R"({"name":"t","keys":{"k":{"roles":["a",1]}}})", "'roles' must be an array of strings"},
      {R"({"name":"t","keys":{"k":{"expires_ms":1.5}}})", "'expires_ms' must be an integer"},
      {R"({"name":"t","keys":{"k":{"revoked":"no"}}})", "'revoked' must be true or false"},
      {R"({"name":"t","roles":{"r":{"parents":"admin"}}})", "'parents' must be an array of strings"},
      {R"({"name":"t","roles":{"r":[1]}})", "role 'r' is not an object"},
      {R"({"name":"t","secrets":{"S":7}})", "secret 'S' must be a string"},
      {R"({"name":"t","audit_policy":{"retention_s":-1}})", "'retention_s' must be an unsigned integer"},
      {R"({"name":""})", "'name' must be a non-empty string"},
      {R"({"quota":{}})", "'name' must be a non-empty string"},
      {"[1,2]", "not a tenant record"},
      {"{", "not a tenant record"},
  };
  for (const auto& [text, message] : poison) {
    INFO(text);
    soulbox::Result<soulbox::tenants::TenantRecord> decoded = soulbox::Error{soulbox::ErrorCode::internal, ""};
    REQUIRE_NOTHROW(decoded = decode_tenant(text));
    REQUIRE_FALSE(decoded.ok());
    CHECK_THAT(decoded.error().message, Catch::Contains(message));
  }
  // A well-formed record still decodes, with null fields taken as absent.
  auto good = decode_tenant(R"({"v":1,"name":"t","quota":{"max_concurrent":3,"max_cpus":null},"keys":{"k":{"hash":"h",)"
                            R"("roles":["developer"],"expires_ms":0,"revoked":false}},"secrets":{"S":"sealed"}})");
  REQUIRE(good.ok());
  CHECK(good->quota.max_concurrent == 3);
  CHECK(good->keys.at("k").roles == std::vector<std::string>{"developer"});
  CHECK(good->secrets.at("S") == "sealed");
}

#include "tenants/record_seal.h"

TEST_CASE("tenant records open only with the seal of the cluster's key", "[tenants][seal]") {
  using soulbox::tenants::RecordSeal;
  const RecordSeal seal(std::string(32, 'k')), other(std::string(32, 'o'));
  const std::string record = R"({"name":"t","keys":{}})";
  const std::string sealed = seal.seal(record);
  CHECK_THAT(sealed, Catch::StartsWith("SBT1 "));
  auto opened = seal.open(sealed);
  REQUIRE(opened.ok());
  CHECK(*opened == record);
  // Written by another party: no seal, another key's seal, a changed record,
  // a changed or malformed seal.
  CHECK_FALSE(seal.open(record).ok());
  CHECK_FALSE(seal.open(other.seal(record)).ok());
  std::string tampered = sealed;
  tampered.replace(tampered.find("\"t\""), 3, "\"u\"");
  CHECK_FALSE(seal.open(tampered).ok());
  std::string flipped = sealed;
  flipped[5] = flipped[5] == 'a' ? 'b' : 'a';
  CHECK_FALSE(seal.open(flipped).ok());
  CHECK_FALSE(seal.open("SBT1 short\n{}").ok());
  CHECK_FALSE(seal.open("").ok());
  CHECK_THAT(seal.open(record).error().message, Catch::Contains("without a seal"));
}

TEST_CASE("a usage record carries the tag of the change that made it, and reads the same without one",
          "[unit][tenants][usage]") {
  soulbox::tenants::Usage u;
  u.running = 2;
  u.created_total = 5;
  const std::string tagged = soulbox::tenants::encode_usage(u, "end/sb-1");
  CHECK(soulbox::tenants::usage_change_of(tagged) == "end/sb-1");
  auto back = soulbox::tenants::decode_usage(tagged);
  REQUIRE(back.ok());
  CHECK(back->running == 2);
  CHECK(back->created_total == 5);
  CHECK(soulbox::tenants::usage_change_of(soulbox::tenants::encode_usage(u)) == "");
  // Records from before tags, or hostile ones, have no tag rather than an error.
  CHECK(soulbox::tenants::usage_change_of(R"({"running":1,"change":7})") == "");
  CHECK(soulbox::tenants::usage_change_of("not json") == "");
}
