// What actors send each other: atoms and the few custom types, declared once
// (docs/stack-notes.md S8: atoms <= 10 characters, 0.17 inspect syntax).
#pragma once
#include <caf/all.hpp>
#include <memory>
#include <string>

#include "bus/connection.h"
#include "isolation/launcher_service.h"

namespace soulbox::actors {

using bus_atom = caf::atom_constant<caf::atom("bus")>;                // a bus::Message for the receiver
using agent_atom = caf::atom_constant<caf::atom("agent")>;            // verified agent frames, each length-prefixed
using agent_eof_atom = caf::atom_constant<caf::atom("agenteof")>;     // the agent channel closed
using agent_broken_atom = caf::atom_constant<caf::atom("agentbad")>;  // + why: the agent broke the protocol
using start_atom = caf::atom_constant<caf::atom("start")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;  // kill with a reason
using acquire_atom = caf::atom_constant<caf::atom("acquire")>;
using refill_atom = caf::atom_constant<caf::atom("refill")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using beat_atom = caf::atom_constant<caf::atom("beat")>;
using ended_atom = caf::atom_constant<caf::atom("ended")>;
using make_atom = caf::atom_constant<caf::atom("make")>;
using destroy_atom = caf::atom_constant<caf::atom("destroy")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;  // retention of ended sandboxes

// A created sandbox travelling between actors. The fds inside are not
// copyable; the shared_ptr makes the message copyable and the last owner
// closes them. Only one actor ever uses it at a time.
struct SandboxHandle {
  std::shared_ptr<isolation::RemoteSandbox> box;
  // When it was made; when a create takes it, when that create got it (the
  // sandbox's start as its user sees it).
  int64_t created_unix_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SandboxHandle& x) {
  return f(caf::meta::type_name("SandboxHandle"), x.created_unix_ms);
}

}  // namespace soulbox::actors

namespace soulbox::bus {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Message& x) {
  return f(caf::meta::type_name("bus_message"), x.subject, x.reply, x.data);
}
}  // namespace soulbox::bus
