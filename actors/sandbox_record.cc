#include "actors/sandbox_record.h"

#include "actors/sandbox_actor.h"

namespace soulbox::actors {
namespace bp = busproto;

SandboxRecord record_of(const SandboxActorState& st) {
  SandboxRecord r;
  r.id = st.settings.id;
  r.template_name = st.settings.template_name;
  r.node = st.ctx->settings.node_id;
  r.tenant = st.settings.tenant;
  r.end_reason = st.end_reason;
  r.state = st.state;
  r.created_unix_ms = st.created_unix_ms;
  r.expires_unix_ms = st.state == bp::SandboxState::Running ? st.expires_unix_ms : 0;
  r.ended_unix_ms = st.ended_unix_ms;
  r.paused_unix_ms = st.state == bp::SandboxState::Paused ? st.paused_unix_ms : 0;
  r.memory_bytes = st.settings.memory_bytes;
  r.cpus = float(st.settings.cpus);
  r.metadata = st.settings.metadata;
  if (st.settings.quota_spent)
    r.quota_ask =
        tenants::SandboxAsk{st.settings.quota_cpus, st.settings.quota_memory_bytes, st.settings.quota_disk_bytes};
  r.quota_seq = st.settings.quota_seq;
  return r;
}

flatbuffers::Offset<bp::SandboxInfo> build_sandbox_info(flatbuffers::FlatBufferBuilder& fbb, const SandboxRecord& r) {
  std::vector<flatbuffers::Offset<bp::KeyValue>> metadata;
  for (const auto& [k, v] : r.metadata)
    metadata.push_back(bp::CreateKeyValue(fbb, fbb.CreateString(k), fbb.CreateString(v)));
  return bp::CreateSandboxInfo(
      fbb, fbb.CreateString(r.id), fbb.CreateString(r.template_name), r.state, fbb.CreateString(r.node),
      fbb.CreateString(r.tenant), r.created_unix_ms, r.expires_unix_ms, r.memory_bytes, r.cpus,
      fbb.CreateVector(metadata), fbb.CreateString(r.end_reason),
      r.quota_ask
          ? bp::CreateQuotaAsk(fbb, r.quota_ask->cpus, r.quota_ask->memory_bytes, r.quota_ask->disk_bytes, r.quota_seq)
          : 0,
      r.ended_unix_ms, r.paused_unix_ms);
}

namespace {
std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}
}  // namespace

SandboxRecord record_from_info(const bp::SandboxInfo& info) {
  SandboxRecord r;
  r.id = str(info.id());
  r.template_name = str(info.template_name());
  r.node = str(info.node());
  r.tenant = str(info.tenant());
  r.end_reason = str(info.end_reason());
  r.state = info.state();
  r.created_unix_ms = info.created_unix_ms();
  r.expires_unix_ms = info.expires_unix_ms();
  r.ended_unix_ms = info.ended_unix_ms();
  r.paused_unix_ms = info.paused_unix_ms();
  r.memory_bytes = info.memory_bytes();
  r.cpus = info.cpus();
  if (info.metadata())
    for (const auto* kv : *info.metadata()) r.metadata.emplace_back(str(kv->key()), str(kv->value()));
  if (const auto* q = info.quota_ask()) {
    r.quota_ask = tenants::SandboxAsk{q->cpus(), q->memory_bytes(), q->disk_bytes()};
    r.quota_seq = q->spent_after_seq();
  }
  return r;
}

namespace {
std::vector<storage::Write> record_writes(const SandboxRecord& record, const std::vector<storage::Write>& also) {
  flatbuffers::FlatBufferBuilder fbb(512);
  fbb.Finish(build_sandbox_info(fbb, record));
  std::vector<storage::Write> writes{{storage::Family::sandboxes, record.id, bp::finish(fbb)}};
  writes.insert(writes.end(), also.begin(), also.end());
  return writes;
}
}  // namespace

Status save_record(storage::Store& store, const SandboxRecord& record, const std::vector<storage::Write>& also,
                   bool sync) {
  return store.write(record_writes(record, also), sync);
}

Status save_created_record(storage::Store& store, const SandboxRecord& record, const std::string& request_key,
                           const std::vector<storage::Write>& also) {
  auto applied = store.apply_once(request_key, record_writes(record, also), /*sync=*/false, record.id);
  if (!applied) return applied.error();
  return {};
}

std::string create_request_key(const std::string& tenant, const std::string& request_id) {
  return "create/" + tenant + "/" + request_id;
}

Result<std::vector<SandboxRecord>> load_records(storage::Store& store) {
  std::vector<SandboxRecord> out;
  auto scanned = store.scan(storage::Family::sandboxes, "", [&](const std::string&, const std::string& value) {
    flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(value.data()), value.size());
    if (verifier.VerifyBuffer<bp::SandboxInfo>(nullptr))
      out.push_back(record_from_info(*flatbuffers::GetRoot<bp::SandboxInfo>(value.data())));
    return true;
  });
  if (!scanned) return scanned.error();
  return out;
}

}  // namespace soulbox::actors
