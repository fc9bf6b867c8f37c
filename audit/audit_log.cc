#include "audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "common/crash_point.h"

namespace soulbox::audit {

std::string record_key(uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

Result<std::vector<Record>> load_records(storage::Store& store) {
  std::vector<Record> out;
  auto scanned = store.scan(storage::Family::audit, "", [&](const std::string&, const std::string& value) {
    auto r = decode_record(value);
    out.push_back(r ? *r : Record{});
    return true;
  });
  if (!scanned) return scanned.error();
  return out;
}

Result<std::optional<Checkpoint>> newest_checkpoint(const std::string& path) {
  std::ifstream in(path);
  std::optional<Checkpoint> newest;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto c = decode_checkpoint(line);
    if (!c) return c.error();
    newest = *c;
  }
  return newest;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(storage::Store& store, const AuditLogOptions& options,
                                                 RecordSink sink) {
  std::unique_ptr<AuditLog> log(new AuditLog(store, options, std::move(sink)));
  auto key = SigningKey::load_or_create(options.key_path);
  if (!key) return key.error();
  log->key_ = std::move(*key);
  log->public_key_ = log->key_->public_key();
  auto records = load_records(store);
  if (!records) return records.error();
  if (!records->empty()) log->head_ = records->back();
  return log;
}

Result<size_t> AuditLog::republish_after(uint64_t published_seq) {
  if (!sink_ || !head_ || head_->seq <= published_seq) return size_t(0);
  size_t sent = 0;
  Status failed;
  auto scanned = store_.scan(storage::Family::audit, "", [&](const std::string&, const std::string& line) {
    auto r = decode_record(line);
    if (!r || r->seq <= published_seq) return true;
    failed = sink_(*r, line);
    if (!failed) return false;
    ++sent;
    return true;
  });
  if (!scanned) return scanned.error();
  if (!failed) return failed.error();
  return sent;
}

Result<size_t> AuditLog::erase_expired(const std::function<int64_t(const std::string&)>& retention_ms, int64_t now_ms) {
  std::vector<storage::Write> writes;
  auto scanned = store_.scan(storage::Family::audit, "", [&](const std::string& key, const std::string& line) {
    auto r = decode_record(line);
    if (!r || r->erased) return true;
    const int64_t keep = retention_ms(r->event.tenant);
    if (keep <= 0 || r->event.unix_ms >= now_ms - keep) return true;
    erase_content(*r);
    writes.push_back({storage::Family::audit, key, encode_record(*r)});
    return true;
  });
  if (!scanned) return scanned.error();
  if (writes.empty()) return size_t(0);
  if (auto st = store_.write(writes, /*sync=*/true); !st) return st.error();
  return writes.size();
}

AuditLog::~AuditLog() {
  if (since_checkpoint_ > 0) (void)checkpoint();
}

Result<Record> AuditLog::append(const Event& event, const std::string& outbox_key) {
  auto record = next_record(head_ ? &*head_ : nullptr, event, *key_);
  if (!record) return record.error();
  const std::string line = encode_record(*record);
  std::vector<storage::Write> writes{{storage::Family::audit, record_key(record->seq), line}};
  if (!outbox_key.empty()) writes.push_back({storage::Family::audit_outbox, outbox_key, std::nullopt});
  if (auto st = store_.write(writes, /*sync=*/true); !st) return st.error();
  head_ = *record;
  crash_point("audit.append.after_store");
  if (sink_)
    // Stored here (the copy `audit verify` reads); a stream that missed it
    // is reported to the caller, which logs it.
    if (auto st = sink_(*record, line); !st) return st.error();
  crash_point("audit.append.after_publish");
  if (++since_checkpoint_ >= options_.checkpoint_every)
    if (auto st = checkpoint(); !st) return st.error();
  return record;
}

Status AuditLog::checkpoint() {
  if (!head_) return {};
  auto c = make_checkpoint(*head_, *key_);
  if (!c) return c.error();
  const std::string line = encode_checkpoint(*c) + "\n";
  const int fd = ::open(options_.checkpoint_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("open " + options_.checkpoint_path);
  const bool ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return sys_error("write " + options_.checkpoint_path);
  since_checkpoint_ = 0;
  return {};
}

}  // namespace soulbox::audit
