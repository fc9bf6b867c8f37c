// The audit log's integrity: each record holds one typed event, the event's
// digest, the hash of the record before it, its own hash over (previous
// hash, sequence, digest) and the node's Ed25519 signature of that hash.
// Retention may erase an event's content; its digest keeps the chain whole. Checkpoints (sequence and
// head hash, signed) are kept outside the log, so truncation is caught too.
// Records and checkpoints are JSON lines, readable and exportable as they
// are. Pure logic: where the records live is the caller's business.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/signing_key.h"

namespace soulbox::audit {

struct Event {
  std::string id;  // unique (the causing request id, or generated)
  int64_t unix_ms = 0;
  std::string tenant, principal;
  std::string action;    // e.g. sandbox.create, sandbox.kill, file.write, key.revoke
  std::string resource;  // e.g. sandbox/sb-1234
  std::string result;    // ok, denied, error
  std::string source;    // address or node the action came from
  std::string details;   // a JSON object, never secrets
};

struct Record {
  uint64_t seq = 0;                                // 1, 2, ...
  std::string prev_hash, digest, hash, signature;  // hex; digest: SHA-256 of the event
  Event event;
  bool erased = false;  // retention removed the content; the digest stays
};

struct Checkpoint {
  uint64_t seq = 0;
  std::string head_hash, signature;  // hex; signature over "checkpoint\n<seq>\n<head_hash>"
};

// The record after `prev` (nullptr: the first) for `event`.
Result<Record> next_record(const Record* prev, const Event& event, const SigningKey& key);
// Retention: keeps id, time, tenant, action and result, drops who, what
// and the details; the record still verifies (as erased).
void erase_content(Record& r);
Result<Checkpoint> make_checkpoint(const Record& head, const SigningKey& key);

std::string encode_event(const Event& e);  // one JSON object, as in a record
Result<Event> decode_event(const std::string& text);
std::string encode_record(const Record& r);  // one JSON line (no newline)
Result<Record> decode_record(const std::string& line);
std::string encode_checkpoint(const Checkpoint& c);
Result<Checkpoint> decode_checkpoint(const std::string& line);

struct VerifyReport {
  bool ok = true;
  size_t first_bad = 0;  // index into the records when !ok (== size: records are missing at the end)
  std::string why;
  size_t erased = 0;  // records verified without their content (retention)
};

// Checks order, links, hashes and signatures, then that the records reach
// the newest checkpoint (which must itself be signed and match).
VerifyReport verify(const std::vector<Record>& records, const std::string& public_key,
                    const std::optional<Checkpoint>& newest_checkpoint);
// The same without signatures (for copies read where the node's key is not
// known, like the SB_AUDIT stream): order, links, digests and hashes.
VerifyReport verify_links(const std::vector<Record>& records);

}  // namespace soulbox::audit
