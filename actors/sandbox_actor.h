// One actor per sandbox: it owns the sandbox (through the launcher), its
// agent channel and its bus subjects (sb.v1.sbx.<id>.*), and serves every
// operation on it; timers end or pause it, and a 1 s sample feeds its
// metrics ring. It ends exactly once, with a recorded reason.
#pragma once
#include <caf/all.hpp>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/messages.h"
#include "actors/metrics_ring.h"
#include "actors/node_context.h"
#include "messages/bus_codec.h"

namespace soulbox::actors {

// What a sandbox was created with (copyable, so it can be a spawn argument).
struct SandboxSettings {
  std::string id;
  std::string template_name = "base";
  std::string tenant;
  uint64_t memory_bytes = 0;
  double cpus = 0;
  uint64_t timeout_ms = 0;  // lifetime from creation or the last refresh
  bool auto_pause = false;
  std::vector<std::string> env;  // KEY=VALUE, under each process's own
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string principal;  // who created it (audit)
  // What was spent of the tenant's quota, given back when it ends.
  bool quota_spent = false;
  double quota_cpus = 0;
  uint64_t quota_memory_bytes = 0, quota_disk_bytes = 0;
  uint64_t quota_seq = 0;    // the usage record it was spent on (SandboxRecord::quota_seq)
  std::string quota_change;  // the spend's tag; its intent ends with the first record (quota_intent.h)
};

// Why sandboxes end (SandboxInfo.end_reason).
namespace end_reason {
inline constexpr const char* timeout = "timeout";
inline constexpr const char* request = "request";
inline constexpr const char* oom = "oom";                         // its agent killed at its own memory limit
inline constexpr const char* node_memory = "node out of memory";  // ... when the sandboxes together filled the node
inline constexpr const char* node_shutdown = "node shutdown";
inline constexpr const char* agent_died = "agent died";
inline constexpr const char* agent_broken = "agent broken";  // it broke the protocol (malformed frame, flood)
inline constexpr const char* node_restart = "node restart";
}  // namespace end_reason

// An agent request waiting for its answer(s).
struct PendingCall {
  enum class Kind {
    reply,    // one answer frame -> one Reply
    exec,     // ProcStarted -> ExecStarted, then output and end on events
    read,     // FileChunks gathered into one Reply
    watch,    // WatchStarted -> WatchOpened, then WatchEvents on events
    unwatch,  // Ok -> also forget the watch's stream
    code      // CodeAccepted -> CodeStarted, then CodeEvents and CodeEnd on events
  };
  Kind kind = Kind::reply;
  std::string reply_to;  // NATS reply subject ("" once answered)
  std::string request_id;
  std::string events_subject;
  std::vector<std::string> attached_subjects;  // exec: further listeners (attach)
  int pid = 0;                                 // exec: once started
  std::string data;                            // gathered file bytes
  bool overflow = false;
  uint32_t watch_id = 0;
  std::string audit_action, audit_path;  // recorded with the agent's answer (file operations)
  std::string principal;
};

// A file arriving in parts over the bus (op "upload"): all parts go to the
// agent as one write (one frame id).
struct Upload {
  uint64_t frame_id = 0;
  std::string path;             // from the first part (audited with the last)
  std::optional<Error> failed;  // an earlier part's error, told to the last part
};

struct SandboxActorState {
  std::shared_ptr<NodeContext> ctx;
  caf::actor node;
  SandboxSettings settings;
  SandboxHandle handle;
  busproto::SandboxState state = busproto::SandboxState::Creating;
  int64_t created_unix_ms = 0;
  int64_t ended_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  // When it was paused, while it is (pause_sandbox; 0 once resumed).
  int64_t paused_unix_ms = 0;
  uint64_t timer_generation = 0;            // bumped to cancel the pending expiry
  caf::actor_clock::time_point expires_at;  // expires_unix_ms on the actors' clock
  std::string end_reason;
  std::unique_ptr<bus::Subscription> subscription;
  uint64_t next_frame_id = 1;
  std::unordered_map<uint64_t, PendingCall> pending;
  std::unordered_map<std::string, Upload> uploads;  // by upload_id
  std::unique_ptr<isolation::Cgroup> cgroup;
  MetricsRing metrics;
  uint64_t last_cpu_usec = 0;
  int64_t last_sample_ms = 0;
  uint64_t oom_kills = 0;
  uint64_t audit_count = 0;
  static inline const char* name = "sandbox";
};

using SandboxSelf = caf::stateful_actor<SandboxActorState>;

// After spawning, send (start_atom, reply_to, request_id, pool_hit): the
// actor subscribes to its subjects and answers the create request itself.
// It tells `node` (ended_atom, id, reason) when it has ended.
caf::behavior sandbox_actor(SandboxSelf* self, std::shared_ptr<NodeContext> ctx, caf::actor node,
                            SandboxSettings settings, SandboxHandle handle);

}  // namespace soulbox::actors
