// Frames from a sandbox's agent, routed to whoever waits for them: one
// handler per PendingCall kind, and a running cell's events gathered into
// one bus message per read (code-cell event batching).
#pragma once
#include <string>

#include "actors/sandbox_actor.h"

namespace soulbox::actors {

// `batch`: verified frames, each length-prefixed, as one read of the
// agent channel brought them (AgentIo).
void on_agent_frames(SandboxSelf* self, const std::string& batch);

}  // namespace soulbox::actors
