// The sandbox actor's op table: one row per op on sb.v1.sbx.<id>.<op>,
// naming the body it takes, the permission it needs (tenants/rbac.h), how
// the agent's answers to it are routed (PendingCall::Kind), what is
// audited with them, and the function that serves it. Dispatch, role
// checks and audit all read the row; the names are shared with clients
// (messages/sandbox_op_names.h). Adding an op: docs/ARCHITECTURE.md.
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

// The handlers the table names.
void on_info(SandboxSelf* self, const OpRequest& request);
void on_kill(SandboxSelf* self, const OpRequest& request);
void on_pause(SandboxSelf* self, const OpRequest& request);
void on_resume(SandboxSelf* self, const OpRequest& request);
void on_timeout(SandboxSelf* self, const OpRequest& request);
void on_metrics_query(SandboxSelf* self, const OpRequest& request);
void on_exec(SandboxSelf* self, const OpRequest& request);
void on_attach(SandboxSelf* self, const OpRequest& request);
void on_watch(SandboxSelf* self, const OpRequest& request);
void on_code(SandboxSelf* self, const OpRequest& request);
void on_upload(SandboxSelf* self, const OpRequest& request);
// Sends the body to the agent as it is (agent_forward.h).
void on_forwarded(SandboxSelf* self, const OpRequest& request);

}  // namespace soulbox::actors
