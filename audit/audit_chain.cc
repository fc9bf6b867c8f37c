#include "audit/audit_chain.h"

#include <nlohmann/json.hpp>

namespace soulbox::audit {
namespace {

using json = nlohmann::json;

json event_json(const Event& e) {
  // Keys sort in nlohmann's object (std::map): the dump is canonical.
  return json{{"id", e.id},          {"time_ms", e.unix_ms},   {"tenant", e.tenant}, {"principal", e.principal},
              {"action", e.action},  {"resource", e.resource}, {"result", e.result}, {"source", e.source},
              {"details", e.details}};
}

Event event_from(const json& j) {
  Event e;
  e.id = j.value("id", "");
  e.unix_ms = j.value("time_ms", int64_t(0));
  e.tenant = j.value("tenant", "");
  e.principal = j.value("principal", "");
  e.action = j.value("action", "");
  e.resource = j.value("resource", "");
  e.result = j.value("result", "");
  e.source = j.value("source", "");
  e.details = j.value("details", "");
  return e;
}

std::string record_hash(const std::string& prev_hash, uint64_t seq, const Event& e) {
  return hex(sha256(prev_hash + "\n" + std::to_string(seq) + "\n" + event_json(e).dump()));
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
  r.hash = record_hash(r.prev_hash, r.seq, event);
  auto sig = key.sign(r.hash);
  if (!sig) return sig.error();
  r.signature = hex(*sig);
  return r;
}

Result<Checkpoint> make_checkpoint(const Record& head, const SigningKey& key) {
  auto sig = key.sign(checkpoint_message(head.seq, head.hash));
  if (!sig) return sig.error();
  return Checkpoint{head.seq, head.hash, hex(*sig)};
}

std::string encode_record(const Record& r) {
  return json{
      {"seq", r.seq}, {"prev", r.prev_hash}, {"hash", r.hash}, {"sig", r.signature}, {"event", event_json(r.event)}}
      .dump();
}

Result<Record> decode_record(const std::string& line) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_object())
    return Error{ErrorCode::protocol_error, "not an audit record"};
  Record r;
  r.seq = j.value("seq", uint64_t(0));
  r.prev_hash = j.value("prev", "");
  r.hash = j.value("hash", "");
  r.signature = j.value("sig", "");
  r.event = event_from(j["event"]);
  return r;
}

std::string encode_checkpoint(const Checkpoint& c) {
  return json{{"seq", c.seq}, {"head", c.head_hash}, {"sig", c.signature}}.dump();
}

Result<Checkpoint> decode_checkpoint(const std::string& line) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{ErrorCode::protocol_error, "not an audit checkpoint"};
  return Checkpoint{j.value("seq", uint64_t(0)), j.value("head", ""), j.value("sig", "")};
}

VerifyReport verify(const std::vector<Record>& records, const std::string& public_key,
                    const std::optional<Checkpoint>& checkpoint) {
  auto bad = [](size_t i, std::string why) { return VerifyReport{false, i, std::move(why)}; };
  std::string prev = kGenesis;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const std::string at = "record " + std::to_string(i) + ": ";
    if (r.seq != i + 1) return bad(i, at + "sequence " + std::to_string(r.seq) + ", expected " + std::to_string(i + 1));
    if (r.prev_hash != prev) return bad(i, at + "does not link to the record before it");
    if (record_hash(r.prev_hash, r.seq, r.event) != r.hash) return bad(i, at + "content does not match its hash");
    if (!verify_signature(public_key, r.hash, unhex(r.signature))) return bad(i, at + "signature does not verify");
    prev = r.hash;
  }
  if (checkpoint) {
    if (!verify_signature(public_key, checkpoint_message(checkpoint->seq, checkpoint->head_hash),
                          unhex(checkpoint->signature)))
      return bad(records.size(), "the checkpoint's signature does not verify");
    if (checkpoint->seq > records.size())
      return bad(records.size(), "records " + std::to_string(records.size() + 1) + ".." +
                                     std::to_string(checkpoint->seq) + " are missing (truncated)");
    if (checkpoint->seq > 0 && records[checkpoint->seq - 1].hash != checkpoint->head_hash)
      return bad(checkpoint->seq - 1, "record " + std::to_string(checkpoint->seq - 1) + " differs from the checkpoint");
  }
  return {};
}

}  // namespace soulbox::audit
