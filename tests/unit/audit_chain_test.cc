// The audit chain: every kind of tampering is found, at the right index.
#include "audit/audit_chain.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

namespace {

using namespace soulbox;
using namespace soulbox::audit;

struct Log {
  std::unique_ptr<SigningKey> key = std::move(*SigningKey::generate());
  std::vector<Record> records;
  std::optional<Checkpoint> checkpoint;

  explicit Log(int n) {
    for (int i = 0; i < n; ++i) {
      Event e{"ev-" + std::to_string(i),
              1700000000000 + i,
              "t1",
              "key-1",
              "sandbox.create",
              "sandbox/sb-" + std::to_string(i),
              "ok",
              "10.0.0.1",
              "{\"memory\":512}"};
      records.push_back(*next_record(records.empty() ? nullptr : &records.back(), e, *key));
    }
    checkpoint = *make_checkpoint(records.back(), *key);
  }
  VerifyReport check() const { return verify(records, key->public_key(), checkpoint); }
};

TEST_CASE("an untouched audit log verifies, through its JSON lines too", "[audit]") {
  Log log(10);
  CHECK(log.check().ok);
  std::vector<Record> reread;
  for (const auto& r : log.records) reread.push_back(*decode_record(encode_record(r)));
  CHECK(verify(reread, log.key->public_key(), *decode_checkpoint(encode_checkpoint(*log.checkpoint))).ok);
}

TEST_CASE("an edited record is found at its index, even when its hash is recomputed", "[audit]") {
  Log log(10);
  log.records[4].event.result = "denied";
  auto r = log.check();
  CHECK_FALSE(r.ok);
  CHECK(r.first_bad == 4);
  Log forged(10);
  forged.records[6].event.tenant = "t2";
  auto other = std::move(*SigningKey::generate());  // the forger's own key
  forged.records[6] = *next_record(&forged.records[5], forged.records[6].event, *other);
  auto f = forged.check();
  CHECK_FALSE(f.ok);
  CHECK(f.first_bad == 6);
  CHECK(f.why.find("signature") != std::string::npos);
}

TEST_CASE("a deleted record is found where it was", "[audit]") {
  Log log(10);
  log.records.erase(log.records.begin() + 3);
  auto r = log.check();
  CHECK_FALSE(r.ok);
  CHECK(r.first_bad == 3);
}

TEST_CASE("reordered records are found at the first one out of place", "[audit]") {
  Log log(10);
  std::swap(log.records[7], log.records[8]);
  auto r = log.check();
  CHECK_FALSE(r.ok);
  CHECK(r.first_bad == 7);
}

TEST_CASE("a truncated log is found by the checkpoint kept outside it", "[audit]") {
  Log log(10);
  log.records.resize(6);
  auto r = log.check();
  CHECK_FALSE(r.ok);
  CHECK(r.first_bad == 6);
  CHECK(r.why.find("missing") != std::string::npos);
  CHECK(verify(log.records, log.key->public_key(), std::nullopt).ok);  // without it, undetectable
}

TEST_CASE("the audit key is made once, kept private, and signs the same after a reload", "[audit]") {
  char dir[] = "/tmp/soulbox-test-auditkey-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  const std::string path = std::string(dir) + "/audit.pem";
  auto first = SigningKey::load_or_create(path);
  REQUIRE(first.ok());
  auto again = SigningKey::load_or_create(path);
  REQUIRE(again.ok());
  CHECK((*first)->public_key() == (*again)->public_key());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto sig = *(*again)->sign("message");
  CHECK(verify_signature((*first)->public_key(), "message", sig));
  CHECK_FALSE(verify_signature((*first)->public_key(), "massage", sig));
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace

namespace {

TEST_CASE("retention erases an event's content and the chain still verifies, but not tampering with it", "[audit]") {
  Log log(6);
  erase_content(log.records[2]);
  const Record erased = log.records[2];
  CHECK(erased.event.principal.empty());
  CHECK(erased.event.resource.empty());
  CHECK(erased.event.details.empty());
  CHECK(erased.event.action == "sandbox.create");  // what happened stays countable
  auto report = log.check();
  CHECK(report.ok);
  CHECK(report.erased == 1);
  auto line = decode_record(encode_record(erased));
  REQUIRE(line.ok());
  CHECK(line->erased);
  // An erased record whose digest is changed no longer matches its hash.
  log.records[2].digest[0] = log.records[2].digest[0] == 'a' ? 'b' : 'a';
  CHECK(log.check().first_bad == 2);
  // Content put back into an erased record is not checked against the digest,
  // but un-erasing it is: the content must match.
  log.records[2] = erased;
  log.records[2].erased = false;
  CHECK(log.check().first_bad == 2);
}

}  // namespace

TEST_CASE("audit records and checkpoints of the wrong shape are errors, never exceptions", "[audit][poison]") {
  const char* records[] = {
      R"({"seq":"1","event":{}})",
      R"({"seq":-4,"event":{}})",
      R"({"seq":1,"prev":7,"event":{}})",
      R"({"seq":1,"erased":"no","event":{}})",
      R"({"seq":1,"event":{"id":5}})",
      R"({"seq":1,"event":{"time_ms":"now"}})",
      R"({"seq":1,"event":{"details":{"a":1}}})",
      R"({"seq":1,"event":[]})",
      R"([1])",
  };
  for (const char* text : records) {
    INFO(text);
    bool ok = true;
    REQUIRE_NOTHROW(ok = decode_record(text).ok());
    CHECK_FALSE(ok);
  }
  for (const char* text : {R"({"seq":"x"})", R"({"seq":1,"head":2})", R"({"sig":[]})"}) {
    INFO(text);
    bool ok = true;
    REQUIRE_NOTHROW(ok = decode_checkpoint(text).ok());
    CHECK_FALSE(ok);
  }
}
