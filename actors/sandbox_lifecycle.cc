#include "actors/sandbox_lifecycle.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "actors/audit_actor.h"
#include "actors/oom_cause.h"
#include "actors/quota_intent.h"
#include "actors/sandbox_audit.h"
#include "actors/sandbox_bus.h"
#include "actors/sandbox_record.h"
#include "audit/audit_outbox.h"
#include "bus/subjects.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "tenants/ask_json.h"

namespace soulbox::actors {
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

using Self = SandboxSelf;

// CAF holds the receiver of a delayed message until it is delivered, so a
// timer armed for the whole lifetime would keep an ended sandbox's actor in
// memory until then: the deadline is checked in steps of at most this.
constexpr caf::timespan kExpiryStep = std::chrono::seconds(1);

void check_expiry_after(Self* self, uint64_t generation) {
  const caf::timespan left = self->state.expires_at - self->clock().now();
  self->delayed_send(self, std::clamp(left, caf::timespan{0}, kExpiryStep), expire_atom::value, generation);
}

void arm_expiry(Self* self) {
  auto& st = self->state;
  const uint64_t generation = ++st.timer_generation;
  const int64_t delay_ms = std::max<int64_t>(0, st.expires_unix_ms - unix_ms_now());
  st.expires_at = self->clock().now() + std::chrono::milliseconds(delay_ms);
  check_expiry_after(self, generation);
}

// Sets the lifetime to `timeout_ms` from now, never past the node's maximum.
void set_lifetime(Self* self, uint64_t timeout_ms) {
  auto& st = self->state;
  const int64_t cap = st.created_unix_ms + int64_t(st.ctx->settings.max_lifetime_ms);
  st.expires_unix_ms = std::min<int64_t>(unix_ms_now() + int64_t(timeout_ms), cap);
  st.settings.timeout_ms = timeout_ms;
}

void persist_record(Self* self) {
  const auto& st = self->state;
  if (auto w = save_record(*st.ctx->store, record_of(st)); !w)
    logger("sandbox")->error("{}: cannot persist its record: {}", st.settings.id, w.error().message);
}

// The writes that go into the same batch as a state change: its event in
// the audit outbox (none when nothing is audited), and the end of the
// create's quota intent (the record now holds the quota).
std::vector<storage::Write> outbox_of(Self* self, const audit::Event& event) {
  std::vector<storage::Write> writes;
  if (self->state.ctx->audit) writes.push_back(audit::outbox_write(event));
  if (!self->state.settings.quota_change.empty()) writes.push_back(intent_delete(self->state.settings.quota_change));
  return writes;
}

// After a batch with an outbox entry: the audit actor moves it into the chain.
void drain_outbox_soon(Self* self) {
  if (self->state.ctx->audit) self->send(self->state.ctx->audit, outbox_atom::value);
}

// Saves the record (synced) with the event that describes its change.
void persist_with_event(Self* self, const audit::Event& event) {
  const auto& st = self->state;
  if (auto w = save_record(*st.ctx->store, record_of(st), outbox_of(self, event)); !w)
    logger("sandbox")->error("{}: cannot persist its record: {}", st.settings.id, w.error().message);
  drain_outbox_soon(self);
}

// What the sandbox spent of its tenant's quota, in its create and end
// events (audit replay folds usage from them: docs/audit.md).
void add_quota_ask(const SandboxSettings& s, nlohmann::json& details) {
  if (!s.quota_spent) return;
  details["quota_ask"] = tenants::ask_json({s.quota_cpus, s.quota_memory_bytes, s.quota_disk_bytes});
}

Status resume_sandbox(Self* self, const std::string& principal) {
  auto& st = self->state;
  if (st.state == bp::SandboxState::Running) return {};
  if (auto thawed = st.cgroup->thaw(); !thawed) return thawed;
  st.state = bp::SandboxState::Running;
  st.paused_unix_ms = 0;
  set_lifetime(self, st.settings.timeout_ms);
  arm_expiry(self);
  persist_with_event(self, sandbox_event(self, "sandbox.resume", "ok", principal));
  return {};
}

}  // namespace

void pause_sandbox(Self* self, const std::string& why, const std::string& principal) {
  auto& st = self->state;
  if (st.state != bp::SandboxState::Running) return;
  if (auto frozen = st.cgroup->freeze(); !frozen) {
    logger("sandbox")->error("{}: pause failed: {}", st.settings.id, frozen.error().message);
    return;
  }
  st.state = bp::SandboxState::Paused;
  st.paused_unix_ms = unix_ms_now();
  ++st.timer_generation;  // a paused sandbox does not expire
  logger("sandbox")->info("{} paused ({})", st.settings.id, why);
  persist_with_event(self, sandbox_event(self, "sandbox.pause", "ok", principal, "", {{"why", why}}));
}

void on_expiry_check(Self* self, uint64_t generation) {
  auto& st = self->state;
  if (generation != st.timer_generation || st.state != bp::SandboxState::Running) return;
  if (self->clock().now() < st.expires_at) return check_expiry_after(self, generation);
  if (st.settings.auto_pause)
    pause_sandbox(self, "timeout");
  else
    end_sandbox(self, end_reason::timeout);
}

void end_sandbox(Self* self, const std::string& reason, const std::string& principal) {
  auto& st = self->state;
  if (st.state == bp::SandboxState::Terminated) return;
  // An agent that died with OOM kills on the books was most likely one of them.
  std::string why = reason;
  if (reason == end_reason::agent_died) {
    if (auto u = st.cgroup->usage(); u && u->oom_kills > 0)
      why = oom_cause(st.cgroup->memory_limit_reached_since_last_check()) == OomCause::own_limit
                ? end_reason::oom
                : end_reason::node_memory;
  }
  st.state = bp::SandboxState::Terminated;
  st.ended_unix_ms = unix_ms_now();
  st.end_reason = why;
  ++st.timer_generation;
  st.subscription.reset();
  st.ctx->agent_io->forget(st.handle.box->channel.get());
  for (auto& [id, call] : st.pending) {
    const std::string message = "sandbox " + st.settings.id + " ended (" + why + ")";
    if (!call.reply_to.empty())
      reply_error(self, call.reply_to, call.request_id, ErrorCode::unavailable, message);
    else
      publish_events(self, call, bp::error_reply(call.request_id, ErrorCode::unavailable, message));
  }
  st.pending.clear();
  if (auto d = st.ctx->launcher->destroy(st.settings.id); !d)
    logger("sandbox")->error("{}: destroy failed: {}", st.settings.id, d.error().message);
  st.handle.box.reset();
  // The end is recorded with its audit event in one synced batch. The event
  // carries the quota the sandbox held: the give-back follows, tagged with
  // the sandbox, and a crash before it completes is finished exactly once
  // at the next start (daemon/recovery.h).
  nlohmann::json end_details{{"reason", why}};
  if (st.settings.quota_spent) add_quota_ask(st.settings, end_details);
  crash_point("sandbox.end.before_record");
  persist_with_event(self, sandbox_event(self, why == end_reason::request ? "sandbox.kill" : "sandbox.end", "ok",
                                         principal, "", end_details));
  crash_point("sandbox.end.after_record");
  if (st.settings.quota_spent && st.ctx->tenants) {
    tenants::SandboxAsk ask{st.settings.quota_cpus, st.settings.quota_memory_bytes, st.settings.quota_disk_bytes};
    if (auto given = st.ctx->tenants->release(st.settings.tenant, ask, quota_release_change(st.settings.id)); given) {
      crash_point("sandbox.end.after_release");
      st.settings.quota_spent = false;
      // Unsynced: if it is lost, recovery finds the give-back on the stream.
      if (auto w = save_record(*st.ctx->store, record_of(st), {}, /*sync=*/false); !w)
        logger("sandbox")->error("{}: cannot persist its record: {}", st.settings.id, w.error().message);
    } else {
      logger("sandbox")->error("{}: quota not given back yet (at the next start): {}", st.settings.id,
                               given.error().message);
    }
  }
  publish(self, subjects::sandbox_events(st.settings.id, "lifecycle"), info_reply(self, ""));
  logger("sandbox")->info("{} ended: {}", st.settings.id, why);
  self->send(st.node, ended_atom::value, st.settings.id, why);
  self->quit();
}

void start_sandbox(Self* self, const std::string& reply_to, const std::string& request_id, bool pool_hit) {
  auto& st = self->state;
  auto sub = st.ctx->bus->subscribe(
      subjects::sandbox_ops(st.settings.id), "",
      [target = caf::actor(self)](bus::Message m) { caf::anon_send(target, bus_atom::value, std::move(m)); });
  // No flush: the reply below leaves on the same connection after the SUB,
  // so the server has the subscription before the client can use it.
  Status ready = sub ? Status() : Status(sub.error());
  if (ready) ready = st.ctx->agent_io->watch(st.handle.box->channel.get(), self);
  if (!ready) {
    reply_error(self, reply_to, request_id, ready.error().code, "sandbox start failed: " + ready.error().message);
    st.subscription = sub ? std::move(*sub) : nullptr;
    end_sandbox(self, end_reason::agent_died);
    return;
  }
  st.subscription = std::move(*sub);
  st.state = bp::SandboxState::Running;
  set_lifetime(self, st.settings.timeout_ms);
  arm_expiry(self);
  self->send(self, sample_atom::value);
  // Recorded before the reply (a list right after the create sees it), in
  // one batch with its audit event.
  nlohmann::json details{{"template", st.settings.template_name},
                         {"memory_bytes", st.settings.memory_bytes},
                         {"cpus", st.settings.cpus},
                         {"timeout_ms", st.settings.timeout_ms},
                         {"pool_hit", pool_hit}};
  add_quota_ask(st.settings, details);
  const auto event = sandbox_event(self, "sandbox.create", "ok", st.settings.principal, "", details);
  const std::string key = create_request_key(st.settings.tenant, request_id);
  if (auto saved = save_created_record(*st.ctx->store, record_of(st), key, outbox_of(self, event)); !saved)
    logger("sandbox")->error("{}: cannot record it: {}", st.settings.id, saved.error().message);
  crash_point("sandbox.create.after_record");
  flatbuffers::FlatBufferBuilder fbb(512);
  auto created = bp::CreateSandboxCreated(fbb, build_sandbox_info(fbb, record_of(st)), pool_hit);
  bp::FinishReplyBuffer(
      fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::SandboxCreated, created.Union()));
  publish(self, reply_to, bp::finish(fbb));
  drain_outbox_soon(self);
  // Made durable after the reply: the fsync is off the create's path, and a
  // crash before it loses the record of a sandbox that dies with the daemon
  // anyway (daemon/recovery.h).
  if (auto synced = st.ctx->store->sync(); !synced)
    logger("sandbox")->error("{}: cannot sync its record: {}", st.settings.id, synced.error().message);
}

void on_info(Self* self, const OpRequest& r) {
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_kill(Self* self, const OpRequest& r) {
  end_sandbox(self, end_reason::request, principal_of(r.envelope));
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_pause(Self* self, const OpRequest& r) {
  pause_sandbox(self, "request", principal_of(r.envelope));
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_resume(Self* self, const OpRequest& r) {
  if (auto resumed = resume_sandbox(self, principal_of(r.envelope)); !resumed)
    reply_error(self, r.message.reply, r.request_id, resumed.error().code, "resume failed: " + resumed.error().message);
  else
    publish(self, r.message.reply, info_reply(self, r.request_id));
}

void on_timeout(Self* self, const OpRequest& r) {
  auto& st = self->state;
  const auto* t = r.envelope.body_as_SetTimeout();
  if (!t || t->timeout_ms() == 0) {
    reply_error(self, r.message.reply, r.request_id, ErrorCode::invalid_argument,
                "timeout needs a SetTimeout with timeout_ms > 0");
    return;
  }
  set_lifetime(self, t->timeout_ms());
  if (st.state == bp::SandboxState::Running) arm_expiry(self);
  persist_record(self);
  publish(self, r.message.reply, info_reply(self, r.request_id));
}

}  // namespace soulbox::actors
