// A sandbox's persistent record (storage family `sandboxes`, key = id,
// value = a SandboxInfo FlatBuffer) and its bus form.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "messages/bus_codec.h"
#include "storage/store.h"
#include "tenants/quota.h"

namespace soulbox::actors {

struct SandboxRecord {
  std::string id, template_name, node, tenant, end_reason;
  busproto::SandboxState state = busproto::SandboxState::Creating;
  int64_t created_unix_ms = 0, expires_unix_ms = 0;
  int64_t ended_unix_ms = 0;   // set with state Terminated
  int64_t paused_unix_ms = 0;  // set with state Paused
  uint64_t memory_bytes = 0;
  float cpus = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
  // Set while the sandbox holds its tenant's quota (recovery gives it back).
  std::optional<tenants::SandboxAsk> quota_ask;
  uint64_t quota_seq = 0;  // the usage record it was spent on (TenantService::spend)
};

struct SandboxActorState;
SandboxRecord record_of(const SandboxActorState& state);

flatbuffers::Offset<busproto::SandboxInfo> build_sandbox_info(flatbuffers::FlatBufferBuilder& fbb,
                                                              const SandboxRecord& record);
SandboxRecord record_from_info(const busproto::SandboxInfo& info);

// Synced: lifecycle changes survive a crash. `also`: more writes for the
// same batch (the audit outbox entry describing the change).
Status save_record(storage::Store& store, const SandboxRecord& record, const std::vector<storage::Write>& also = {},
                   bool sync = true);
// The first record of a sandbox, in one batch with the create request's key
// (create_request_key) whose outcome is the sandbox id: a repeated create
// request finds the sandbox instead of making another.
// Unsynced, so it is visible at once; call Store::sync() after answering.
Status save_created_record(storage::Store& store, const SandboxRecord& record, const std::string& request_key,
                           const std::vector<storage::Write>& also = {});
std::string create_request_key(const std::string& tenant, const std::string& request_id);

// Every record in the store, in id order; unreadable ones are skipped.
Result<std::vector<SandboxRecord>> load_records(storage::Store& store);

}  // namespace soulbox::actors
