// The sandbox actor's op table: one row per op on sb.v1.sbx.<id>.<op>,
// naming the body it takes, the permission it needs (tenants/rbac.h), how
// the agent's answers to it are routed (PendingCall::Kind), what is
// audited with them, and the function that serves it (declared with its
// concern: sandbox_requests.h, sandbox_uploads.h, sandbox_lifecycle.h,
// sandbox_metrics.h). Dispatch, role checks and audit all read the row; the
// names are shared with clients (messages/sandbox_op_names.h). Adding an
// op: docs/ARCHITECTURE.md.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/sandbox_actor.h"
#include "tenants/rbac.h"

namespace soulbox::actors {

struct SandboxOp;

// One request on the bus, as its handler gets it.
struct OpRequest {
  const SandboxOp& op;
  const bus::Message& message;  // its reply subject is where answers go
  const busproto::Envelope& envelope;
  std::string request_id;
};

using OpHandler = void (*)(SandboxSelf* self, const OpRequest& request);

struct SandboxOp {
  const char* name;
  // The body it takes; any other is refused. Ops the actor answers itself
  // (no kind) take any body and read theirs if it is there.
  busproto::Body body;
  tenants::Resource resource;
  tenants::Action action;
  // The agent call it makes (or joins: attach), which routes the agent's
  // answers; none when the actor answers it itself, also while paused.
  std::optional<PendingCall::Kind> kind;
  // Audited with the agent's answer ("" none). Ops the actor answers itself
  // record their events with the state change (sandbox.kill, .pause, .resume).
  const char* audit_action;
  OpHandler handler;
};

const std::vector<SandboxOp>& sandbox_ops();

// The row of op `name`; nullptr when there is none.
const SandboxOp* find_sandbox_op(std::string_view name);

// The permission an op needs; an unknown one (nullptr) needs system admin.
std::pair<tenants::Resource, tenants::Action> permission_for(const SandboxOp* op);

// A request on sb.v1.sbx.<id>.<op>: checked (envelope, deadline, tenant,
// role, the sandbox's state, the body) and served by its op's handler, or
// answered with the error.
void on_bus_request(SandboxSelf* self, const bus::Message& message);

}  // namespace soulbox::actors
