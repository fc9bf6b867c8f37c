// What the sandbox actor sends on the bus: answers to requests (on their
// reply subjects) and stream events (on the subjects clients chose).
#pragma once
#include <string>

#include "actors/sandbox_actor.h"

namespace soulbox::actors {

// Publishes `bytes` on `subject` ("": nobody waits); a failure is logged.
void publish(SandboxSelf* self, const std::string& subject, const std::string& bytes);

// A stream's events go to whoever started it and whoever attached since.
void publish_events(SandboxSelf* self, const PendingCall& call, const std::string& bytes);

void reply_error(SandboxSelf* self, const std::string& reply_to, const std::string& request_id, ErrorCode code,
                 const std::string& message);

// A Reply with the sandbox's SandboxInfo.
std::string info_reply(SandboxSelf* self, const std::string& request_id);

// A Reply with an Ok body.
std::string ok_reply(const std::string& request_id);

// Who sent a request ("" when the envelope names nobody).
std::string principal_of(const busproto::Envelope& env);

}  // namespace soulbox::actors
