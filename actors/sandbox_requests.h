// Ops the agent serves: each handler makes one agent call (a frame to the
// agent and a PendingCall waiting for its answers, as the op's row says)
// or, for attach, joins one. Their answers: sandbox_replies.h.
#pragma once
#include <cstdint>
#include <string>

#include "actors/sandbox_ops.h"

namespace soulbox::actors {

// Writes a length-prefixed frame to the agent; one over the agent's frame
// limit is refused (invalid_argument) rather than sent.
Status send_frame(SandboxSelf* self, const std::string& frame);

// Sends `frame` (frame id `id`) to the agent and remembers who waits for its
// answer; a failed send is answered at once.
void call_agent(SandboxSelf* self, const std::string& frame, uint64_t id, PendingCall call);

// The agent call a request makes, as its op's row describes it: its kind,
// who waits, and what is audited with the answer.
PendingCall call_for(const OpRequest& request);

void on_exec(SandboxSelf* self, const OpRequest& request);
// Adds a listener to a running process's stream (E2B's process Connect).
void on_attach(SandboxSelf* self, const OpRequest& request);
void on_watch(SandboxSelf* self, const OpRequest& request);
void on_code(SandboxSelf* self, const OpRequest& request);
// Sends the body to the agent as it is (agent_forward.h).
void on_forwarded(SandboxSelf* self, const OpRequest& request);

}  // namespace soulbox::actors
