// A sandbox's life: its start (subscribed, recorded, the create answered),
// its lifetime (expiry, refresh, pause and resume) and its end, which
// happens once, with a recorded reason, and gives back its tenant's quota.
// Each state change is saved with its audit event in one batch.
#pragma once
#include <cstdint>
#include <string>

#include "actors/sandbox_ops.h"

namespace soulbox::actors {

// Subscribes, starts the agent reader and the timers, records the sandbox
// and answers the create request.
void start_sandbox(SandboxSelf* self, const std::string& reply_to, const std::string& request_id, bool pool_hit);

// Ends it (once): pending calls are answered, the sandbox destroyed, the
// end recorded and the quota given back; the node is told and the actor quits.
void end_sandbox(SandboxSelf* self, const std::string& reason, const std::string& principal = "");

// Freezes a running sandbox; a paused sandbox does not expire.
void pause_sandbox(SandboxSelf* self, const std::string& why, const std::string& principal = "");

// The expiry timer (expire_atom) of timer generation `generation` fired.
void on_expiry_check(SandboxSelf* self, uint64_t generation);

// The ops the actor answers itself (also while paused), with the
// SandboxInfo after the change.
void on_info(SandboxSelf* self, const OpRequest& request);
void on_kill(SandboxSelf* self, const OpRequest& request);
void on_pause(SandboxSelf* self, const OpRequest& request);
void on_resume(SandboxSelf* self, const OpRequest& request);
void on_timeout(SandboxSelf* self, const OpRequest& request);

}  // namespace soulbox::actors
