#include "audit/audit_chain.h"

#include <nlohmann/json.hpp>

#include "common/json_fields.h"

namespace soulbox::audit {
namespace {

using json = nlohmann::json;

json event_json(const Event& e) {
  // Keys sort in nlohmann's object (std::map): the dump is canonical.
  return json{{"id", e.id},          {"time_ms", e.unix_ms},   {"tenant", e.tenant}, {"principal", e.principal},
              {"action", e.action},  {"resource", e.resource}, {"result", e.result}, {"source", e.source},
              {"details", e.details}};
}

// Records come from SB_AUDIT and files: typed reads, never an exception.
Result<Event> event_from(const json& j) {
  Event e;
  JsonFields f(j, "audit event");
  f.read("id", e.id);
  f.read("time_ms", e.unix_ms);
  f.read("tenant", e.tenant);
  f.read("principal", e.principal);
  f.read("action", e.action);
  f.read("resource", e.resource);
  f.read("result", e.result);
  f.read("source", e.source);
  f.read("details", e.details);
  if (!f.ok()) return f.status().error();
  return e;
}

std::string event_digest(const Event& e) {
  return hex(sha256(event_json(e).dump()));
}

// Over the event's digest, not the event: an event erased by retention
// keeps its digest, so the chain still verifies without its content.
std::string record_hash(const std::string& prev_hash, uint64_t seq, const std::string& digest) {
  return hex(sha256(prev_hash + "\n" + std::to_string(seq) + "\n" + digest));
}

std::string checkpoint_message(uint64_t seq, const std::string& head) {
  return "checkpoint\n" + std::to_string(seq) + "\n" + head;
}

const std::string kGenesis(64, '0');

}  // namespace

Result<Record> next_record(const Record* prev, const Event& event, const SigningKey& key) {
  Record r;
  r.seq = prev ? prev->seq + 1 : 1;
  r.prev_hash = prev ? prev->hash : kGenesis;
  r.event = event;
  r.digest = event_digest(event);
  r.hash = record_hash(r.prev_hash, r.seq, r.digest);
  auto sig = key.sign(r.hash);
  if (!sig) return sig.error();
  r.signature = hex(*sig);
  return r;
}

void erase_content(Record& r) {
  Event kept;
  kept.id = r.event.id;
  kept.unix_ms = r.event.unix_ms;
  kept.tenant = r.event.tenant;
  kept.action = r.event.action;
  kept.result = r.event.result;
  r.event = std::move(kept);
  r.erased = true;
}

Result<Checkpoint> make_checkpoint(const Record& head, const SigningKey& key) {
  auto sig = key.sign(checkpoint_message(head.seq, head.hash));
  if (!sig) return sig.error();
  return Checkpoint{head.seq, head.hash, hex(*sig)};
}

std::string encode_event(const Event& e) {
  return event_json(e).dump();
}

Result<Event> decode_event(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Error{ErrorCode::protocol_error, "an audit event that is not a JSON object"};
  return event_from(j);
}

std::string encode_record(const Record& r) {
  json j{{"seq", r.seq},       {"prev", r.prev_hash}, {"hash", r.hash},
         {"sig", r.signature}, {"digest", r.digest},  {"event", event_json(r.event)}};
  if (r.erased) j["erased"] = true;
  return j.dump();
}

Result<Record> decode_record(const std::string& line) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_object())
    return Error{ErrorCode::protocol_error, "not an audit record"};
  Record r;
  JsonFields f(j, "audit record");
  f.read("seq", r.seq);
  f.read("prev", r.prev_hash);
  f.read("hash", r.hash);
  f.read("sig", r.signature);
  f.read("digest", r.digest);
  f.read("erased", r.erased);
  if (!f.ok()) return f.status().error();
  auto event = event_from(j["event"]);
  if (!event) return event.error();
  r.event = std::move(*event);
  return r;
}

std::string encode_checkpoint(const Checkpoint& c) {
  return json{{"seq", c.seq}, {"head", c.head_hash}, {"sig", c.signature}}.dump();
}

Result<Checkpoint> decode_checkpoint(const std::string& line) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{ErrorCode::protocol_error, "not an audit checkpoint"};
  Checkpoint c;
  JsonFields f(j, "audit checkpoint");
  f.read("seq", c.seq);
  f.read("head", c.head_hash);
  f.read("sig", c.signature);
  if (!f.ok()) return f.status().error();
  return c;
}

namespace {

// Order, links, digests and hashes; signatures too when a key is given.
VerifyReport verify_chain(const std::vector<Record>& records, const std::string* public_key,
                          const std::optional<Checkpoint>& checkpoint) {
  auto bad = [](size_t i, std::string why) { return VerifyReport{false, i, std::move(why)}; };
  std::string prev = kGenesis;
  size_t erased = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const std::string at = "record " + std::to_string(i) + ": ";
    if (r.seq != i + 1) return bad(i, at + "sequence " + std::to_string(r.seq) + ", expected " + std::to_string(i + 1));
    if (r.prev_hash != prev) return bad(i, at + "does not link to the record before it");
    if (!r.erased && event_digest(r.event) != r.digest) return bad(i, at + "content does not match its digest");
    if (record_hash(r.prev_hash, r.seq, r.digest) != r.hash) return bad(i, at + "does not match its hash");
    if (public_key && !verify_signature(*public_key, r.hash, unhex(r.signature)))
      return bad(i, at + "signature does not verify");
    prev = r.hash;
    if (r.erased) ++erased;
  }
  if (checkpoint && public_key) {
    if (!verify_signature(*public_key, checkpoint_message(checkpoint->seq, checkpoint->head_hash),
                          unhex(checkpoint->signature)))
      return bad(records.size(), "the checkpoint's signature does not verify");
    if (checkpoint->seq > records.size())
      return bad(records.size(), "records " + std::to_string(records.size() + 1) + ".." +
                                     std::to_string(checkpoint->seq) + " are missing (truncated)");
    if (checkpoint->seq > 0 && records[checkpoint->seq - 1].hash != checkpoint->head_hash)
      return bad(checkpoint->seq - 1, "record " + std::to_string(checkpoint->seq - 1) + " differs from the checkpoint");
  }
  VerifyReport ok;
  ok.erased = erased;
  return ok;
}

}  // namespace

VerifyReport verify(const std::vector<Record>& records, const std::string& public_key,
                    const std::optional<Checkpoint>& checkpoint) {
  return verify_chain(records, &public_key, checkpoint);
}

VerifyReport verify_links(const std::vector<Record>& records) {
  return verify_chain(records, nullptr, std::nullopt);
}

}  // namespace soulbox::audit
