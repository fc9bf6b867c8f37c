// Files arriving in parts over the bus (op "upload", docs/bus.md): every
// part goes to the agent as one write with one frame id; the last part is
// answered (and audited) with the agent's answer to the whole.
#pragma once
#include "actors/sandbox_ops.h"
#include "messages/agent_protocol.h"

namespace soulbox::actors {

void on_upload(SandboxSelf* self, const OpRequest& request);

// An agent frame no call waits for: when it is an error for a part of an
// upload before the last, the last part's answer says so.
void note_upload_failure(SandboxSelf* self, const agentproto::Frame& frame);

}  // namespace soulbox::actors
