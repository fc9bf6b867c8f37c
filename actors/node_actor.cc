#include "actors/node_actor.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "actors/audit_actor.h"
#include "actors/ended_records.h"
#include "actors/node_status.h"
#include "actors/quota_intent.h"
#include "actors/sandbox_actor.h"
#include "actors/sandbox_record.h"
#include "actors/template_catalog.h"
#include "audit/audit_outbox.h"
#include "bus/handler_guard.h"
#include "bus/subjects.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "isolation/sandbox_spec.h"
#include "messages/bus_codec.h"
#include "tenants/ask_json.h"

namespace soulbox::actors {
namespace bp = busproto;
namespace subjects = bus::subjects;

const char* const kSoulboxVersion = "0.1.0";

namespace {

using Self = caf::stateful_actor<NodeActorState>;

std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}

void publish(Self* self, const std::string& subject, const std::string& bytes) {
  if (subject.empty()) return;
  (void)self->state.ctx->bus->publish(subject, bytes);
}

// A child that died is a zombie until reaped, so kill(pid, 0) would still succeed.
bool process_running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' && line[close + 2] != 'X';
}

uint64_t unreadable_events(const NodeActorState& st) {
  return bus::failed_handlers() + (st.ctx->tenants ? st.ctx->tenants->unreadable_events() : 0);
}

flatbuffers::Offset<bp::NodeHealth> build_health(Self* self, flatbuffers::FlatBufferBuilder& fbb) {
  auto& st = self->state;
  const AdmissionSettings& admits = st.admits;
  const NodeLoad load = st.ctx->admission ? st.ctx->admission->load() : NodeLoad{};
  const uint64_t free_memory = memory_free(admits, load);
  NodeSignals signals;
  signals.draining = st.draining;
  signals.launcher_alive = process_running(st.ctx->launcher->launcher_pid());
  signals.bus_connected = st.ctx->bus->connected();
  signals.memory_capacity_bytes = admits.memory_capacity_bytes;
  signals.memory_free_bytes = free_memory;
  st.status = node_status(signals);
  const bool cpus_reserved = admits.cpu_overcommit > 0;
  return bp::CreateNodeHealth(
      fbb, fbb.CreateString(st.ctx->settings.node_id), fbb.CreateString(st.status), fbb.CreateString(kSoulboxVersion),
      uint32_t(st.sandboxes.size()), float(admits.cpu_capacity), admits.memory_capacity_bytes, free_memory,
      float(cpus_reserved ? cpus_free(admits, load) : admits.cpu_capacity), fbb.CreateString(st.ctx->settings.region),
      0, unix_ms_now(), fbb.CreateVectorOfStrings(st.consumed_reservations), st.ctx->bad_messages.load(),
      unreadable_events(st), load.memory_measured_bytes, admits.new_sandbox_memory_bytes, cpus_reserved);
}

void publish_heartbeat(Self* self) {
  auto& st = self->state;
  flatbuffers::FlatBufferBuilder fbb(256);
  const std::string id = st.ctx->settings.node_id + "-hb-" + std::to_string(++st.heartbeats);
  auto health = build_health(self, fbb);
  bp::FinishEnvelopeBuffer(
      fbb, bp::CreateEnvelope(fbb, fbb.CreateString(id), 0, 0, 0, 0, bp::Body::NodeHealth, health.Union()));
  publish(self, subjects::node_heartbeat(st.ctx->settings.node_id), bp::finish(fbb));
  st.consumed_reservations.clear();
}

// Confirms placements within a few ms instead of at the next periodic
// heartbeat, so a burst of creates does not exhaust the schedulers' view.
void confirm_soon(Self* self, const std::string& reservation) {
  auto& st = self->state;
  st.consumed_reservations.push_back(reservation);
  if (st.confirm_scheduled) return;
  st.confirm_scheduled = true;
  self->delayed_send(self, std::chrono::milliseconds(5), beat_atom::value, true);
}

std::string health_reply(Self* self, const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto health = build_health(self, fbb);
  bp::FinishReplyBuffer(fbb,
                        bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::NodeHealth, health.Union()));
  return bp::finish(fbb);
}

// Checks what a client asked for before anything is created.
Status check_create(const bp::CreateSandbox& c, const std::string& tenant) {
  const std::string tmpl = c.template_name() ? c.template_name()->str() : "base";
  if (!find_template(tmpl))
    return Error{ErrorCode::not_found,
                 "template '" + tmpl + "' does not exist (this node has: " + template_names() + ")"};
  if (!tenant.empty())
    if (auto ok = subjects::check_token("tenant", tenant); !ok) return ok;
  isolation::SandboxSpec spec;
  if (c.memory_bytes()) spec.limits.memory_bytes = c.memory_bytes();
  if (c.cpus() > 0) spec.limits.cpus = c.cpus();
  if (c.pids()) spec.limits.pids = c.pids();
  if (c.disk_bytes()) spec.limits.disk_bytes = c.disk_bytes();
  if (c.cpus() < 0) return Error{ErrorCode::invalid_argument, "cpus must be positive"};
  if (c.env())
    for (const auto* kv : *c.env())
      if (str(kv->key()).empty() || str(kv->key()).find('=') != std::string::npos)
        return Error{ErrorCode::invalid_argument, "env keys must be non-empty and free of '='"};
  return isolation::validate_spec(spec);
}

SandboxSettings settings_of(Self* self, const bp::CreateSandbox& c, const std::string& tenant,
                            const isolation::Limits& limits) {
  SandboxSettings s;
  s.template_name = c.template_name() ? c.template_name()->str() : "base";
  s.tenant = tenant;
  s.memory_bytes = limits.memory_bytes;
  s.cpus = limits.cpus;
  s.timeout_ms = c.timeout_ms() ? c.timeout_ms() : self->state.ctx->settings.default_timeout_ms;
  s.auto_pause = c.auto_pause();
  if (c.env())
    for (const auto* kv : *c.env()) s.env.push_back(str(kv->key()) + "=" + str(kv->value()));
  if (c.metadata())
    for (const auto* kv : *c.metadata()) s.metadata.emplace_back(str(kv->key()), str(kv->value()));
  return s;
}

void audit_node_event(Self* self, const std::string& tenant, const std::string& principal, const std::string& action,
                      const std::string& resource, bool ok, const std::string& details = "{}") {
  auto& st = self->state;
  if (!st.ctx->audit) return;
  audit::Event e;
  e.unix_ms = unix_ms_now();
  e.id = st.ctx->settings.node_id + "-node-" + std::to_string(e.unix_ms) + "-" + std::to_string(++st.audit_count);
  e.tenant = tenant;
  e.principal = principal;
  e.action = action;
  e.resource = resource;
  e.result = ok ? "ok" : "error";
  e.source = st.ctx->settings.node_id;
  e.details = details;
  self->send(st.ctx->audit, audit_atom::value, std::move(e));
}

void audit_secret(Self* self, const std::string& tenant, const std::string& principal, const std::string& name,
                  bool ok) {
  audit_node_event(self, tenant, principal, "secret.read", "secret/" + tenant + "/" + name, ok);
}

// Spends a create's quota on its tenant's usage, its intent recorded first
// (actors/quota_intent.h). No tenant (or no tenant service): nothing is
// spent and the intent's change is empty.
Result<QuotaIntent> spend_quota(Self* self, const std::string& tenant, const tenants::SandboxAsk& ask,
                                const std::string& principal, const std::string& request_id) {
  auto& st = self->state;
  QuotaIntent intent{"", tenant, principal, ask, 0};
  if (tenant.empty() || !st.ctx->tenants) return intent;
  const std::string change = quota_spend_change(tenant, request_id);
  auto spent = st.ctx->tenants->spend(tenant, ask, principal, change, [&](uint64_t after_seq) -> Status {
    intent.change = change;
    intent.after_seq = after_seq;
    // Unsynced: it must survive the process, as the spend does, not the machine.
    auto written = st.ctx->store->write({intent_write(intent)}, /*sync=*/false);
    crash_point("sandbox.create.before_spend");
    return written;
  });
  crash_point("sandbox.create.after_spend");
  if (!spent) {
    // Refused by the quota: nothing was stored. Any other failure (a
    // timeout) may have stored it: the intent stays for the next start.
    if (!intent.change.empty() && spent.error().code == ErrorCode::resource_exhausted)
      (void)st.ctx->store->write({intent_delete(change)}, /*sync=*/false);
    return spent.error();
  }
  return intent;
}

// A create that failed after spending: the quota goes back (tagged, so a
// restart can tell), then the failed create's audit event and the end of
// the intent are written in one batch.
void undo_quota(Self* self, const QuotaIntent& intent, const std::string& why) {
  auto& st = self->state;
  if (intent.change.empty()) return;
  if (auto given = st.ctx->tenants->release(intent.tenant, intent.ask, quota_undo_change(intent.change)); !given) {
    logger("node")->error("quota of a failed create of '{}' not given back yet (at the next start): {}", intent.tenant,
                          given.error().message);
    return;
  }
  std::vector<storage::Write> writes{intent_delete(intent.change)};
  // Spent and given back: replay counts it in created_total like the live usage.
  if (st.ctx->audit) writes.push_back(audit::outbox_write(failed_create_event(intent, st.ctx->settings.node_id, why)));
  if (auto written = st.ctx->store->write(writes, /*sync=*/false); !written)
    logger("node")->error("failed create of '{}' not recorded: {}", intent.tenant, written.error().message);
  if (st.ctx->audit) self->send(st.ctx->audit, outbox_atom::value);
}

// The answer to a repeated create: the sandbox the first request made.
void reply_existing(Self* self, const std::string& reply_to, const std::string& request_id, const std::string& id) {
  auto value = self->state.ctx->store->get(storage::Family::sandboxes, id);
  if (!value || !value->has_value()) {
    publish(self, reply_to, bp::error_reply(request_id, ErrorCode::not_found, "sandbox " + id + " has no record"));
    return;
  }
  const std::string& bytes = **value;
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!verifier.VerifyBuffer<bp::SandboxInfo>(nullptr)) {
    publish(self, reply_to, bp::error_reply(request_id, ErrorCode::internal, "sandbox " + id + ": unreadable record"));
    return;
  }
  flatbuffers::FlatBufferBuilder fbb(512);
  auto info = build_sandbox_info(fbb, record_from_info(*flatbuffers::GetRoot<bp::SandboxInfo>(bytes.data())));
  auto created = bp::CreateSandboxCreated(fbb, info, false);
  bp::FinishReplyBuffer(
      fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::SandboxCreated, created.Union()));
  publish(self, reply_to, bp::finish(fbb));
}

void on_create(Self* self, const bus::Message& m, const bp::Envelope& env, const std::string& request_id) {
  const auto* c = env.body_as_CreateSandbox();
  if (!c) {
    publish(self, m.reply,
            bp::error_reply(request_id, ErrorCode::invalid_argument, "create needs a CreateSandbox body"));
    return;
  }
  const std::string tenant = str(env.tenant());
  if (auto ok = check_create(*c, tenant); !ok) {
    publish(self, m.reply, bp::error_reply(request_id, ok.error().code, ok.error().message));
    return;
  }
  AcquireRequest req{c->template_name() ? c->template_name()->str() : "base", c->memory_bytes(), c->cpus(), c->pids(),
                     c->disk_bytes()};
  auto& st = self->state;
  if (st.sandboxes.size() >= st.density.sandboxes) {
    publish(self, m.reply,
            bp::error_reply(request_id, ErrorCode::resource_exhausted,
                            "node " + st.ctx->settings.node_id + " holds " + std::to_string(st.sandboxes.size()) +
                                " sandboxes, all that " + st.density.name + " (" + std::to_string(st.density.value) +
                                ") allows; raise it with " + st.density.remedy));
    return;
  }
  // Idempotent per (tenant, request id): a repeated request gets the sandbox
  // the first one made.
  const std::string key = create_request_key(tenant, request_id);
  if (st.creating.count(key)) {
    publish(self, m.reply,
            bp::error_reply(request_id, ErrorCode::unavailable, "a create with this request id is in progress; retry"));
    return;
  }
  if (auto done = st.ctx->store->get(storage::Family::applied, key); done && done->has_value()) {
    reply_existing(self, m.reply, request_id, **done);
    return;
  }
  if (st.ctx->tenants)
    if (auto allowed = st.ctx->tenants->authorize_principal(tenant, str(env.principal()), tenants::Resource::sandbox,
                                                            tenants::Action::create, true, bp::envelope_roles(env));
        !allowed) {
      publish(self, m.reply, bp::error_reply(request_id, allowed.error().code, allowed.error().message));
      return;
    }
  // Secrets become environment variables of every process in the sandbox;
  // opening one is audited (its name, never its value).
  std::vector<std::string> secret_names;
  if (c->secrets())
    for (const auto* s : *c->secrets()) secret_names.push_back(s->str());
  std::vector<std::string> secret_env;
  if (!secret_names.empty()) {
    auto opened = st.ctx->tenants ? st.ctx->tenants->secret_env(tenant, secret_names)
                                  : Result<std::vector<std::string>>(Error{ErrorCode::unavailable, "no tenants"});
    for (const auto& name : secret_names) audit_secret(self, tenant, str(env.principal()), name, opened.ok());
    if (!opened) {
      publish(self, m.reply, bp::error_reply(request_id, opened.error().code, opened.error().message));
      return;
    }
    secret_env = std::move(*opened);
  }
  // Admission: the scheduler's view may be stale; this node's is not.
  // Counted from here on, released when the create fails or the sandbox ends.
  const Reserved wanted{c->cpus() > 0 ? double(c->cpus()) : isolation::Limits().cpus,
                        c->memory_bytes() ? c->memory_bytes() : isolation::Limits().memory_bytes};
  if (st.ctx->admission)
    if (auto admitted = st.ctx->admission->reserve(wanted.memory_bytes, wanted.cpus, AdmissionFor::user); !admitted) {
      publish(self, m.reply, bp::error_reply(request_id, admitted.error().code, admitted.error().message));
      return;
    }
  auto unreserve = [ctx = st.ctx, wanted] {
    if (!ctx->admission) return;
    ctx->admission->made(false);
    ctx->admission->release(wanted.memory_bytes, wanted.cpus);
  };
  // Quota: spent before anything is made, given back if the create fails.
  tenants::SandboxAsk ask;
  if (c->memory_bytes()) ask.memory_bytes = c->memory_bytes();
  if (c->cpus() > 0) ask.cpus = c->cpus();
  if (c->disk_bytes()) ask.disk_bytes = c->disk_bytes();
  auto intent = spend_quota(self, tenant, ask, str(env.principal()), request_id);
  if (!intent) {
    unreserve();
    publish(self, m.reply, bp::error_reply(request_id, intent.error().code, intent.error().message));
    return;
  }
  const QuotaIntent spent = *intent;
  st.creating.insert(key);
  // Everything the continuation needs, copied out of the message buffer.
  auto pending = std::make_shared<SandboxSettings>(settings_of(self, *c, tenant, {}));
  pending->principal = str(env.principal());
  pending->env.insert(pending->env.end(), secret_env.begin(), secret_env.end());
  const std::string reply_to = m.reply;
  const std::string reservation = str(c->reservation_id());
  self->request(self->state.pool, caf::infinite, acquire_atom::value, req).then([=](const AcquireResult& r) {
    // Confirmed by the next heartbeat, whose figures include it (or it failed).
    if (!reservation.empty()) confirm_soon(self, reservation);
    self->state.creating.erase(key);
    if (!r.handle.box) {
      unreserve();
      undo_quota(self, spent, r.message);
      publish(self, reply_to,
              bp::error_reply(request_id, ErrorCode(r.code ? r.code : uint16_t(ErrorCode::internal)),
                              "sandbox creation failed: " + r.message));
      return;
    }
    if (self->state.ctx->admission) self->state.ctx->admission->made(true);
    SandboxSettings s = *pending;
    s.quota_spent = !spent.change.empty();
    s.quota_cpus = ask.cpus;
    s.quota_memory_bytes = ask.memory_bytes;
    s.quota_disk_bytes = ask.disk_bytes;
    s.quota_seq = spent.after_seq;
    s.quota_change = spent.change;
    s.id = r.handle.box->id;
    s.memory_bytes = r.limits.memory_bytes;
    s.cpus = r.limits.cpus;
    auto& node = self->state;
    // Its user's sandbox starts now, however long ago a warm pool made it:
    // its startedAt (and the node's --max-lifetime) count from here.
    SandboxHandle handle = r.handle;
    handle.created_unix_ms = unix_ms_now();
    auto sandbox = self->spawn(sandbox_actor, node.ctx, caf::actor(self), s, handle);
    node.sandboxes[s.id] = sandbox;
    node.reserved[s.id] = wanted;
    self->send(sandbox, start_atom::value, reply_to, request_id, r.pool_hit);
  });
}

void on_list(Self* self, const bus::Message& m, const bp::Envelope& env, const std::string& request_id) {
  const auto* q = env.body_as_ListSandboxes();
  auto records = load_records(*self->state.ctx->store);
  if (!records) {
    publish(self, m.reply, bp::error_reply(request_id, records.error().code, records.error().message));
    return;
  }
  const uint32_t limit = q && q->limit() ? std::min<uint32_t>(q->limit(), 1000) : 100;
  const std::string after = q ? str(q->next_token()) : "";
  const std::string tenant = str(env.tenant());
  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<bp::SandboxInfo>> out;
  std::string last_id;
  bool more = false;
  for (const auto& r : *records) {
    if (!after.empty() && r.id <= after) continue;
    if (!tenant.empty() && r.tenant != tenant) continue;
    bool state_ok = false;
    if (q && q->states() && q->states()->size()) {
      for (auto s : *q->states()) state_ok = state_ok || bp::SandboxState(s) == r.state;
    } else {
      state_ok = r.state != bp::SandboxState::Terminated;
    }
    if (!state_ok) continue;
    bool meta_ok = true;
    if (q && q->metadata())
      for (const auto* kv : *q->metadata())
        meta_ok = meta_ok && std::find(r.metadata.begin(), r.metadata.end(),
                                       std::make_pair(str(kv->key()), str(kv->value()))) != r.metadata.end();
    if (!meta_ok) continue;
    if (out.size() == limit) {
      more = true;
      break;
    }
    out.push_back(build_sandbox_info(fbb, r));
    last_id = r.id;
  }
  // next_token: the last id returned, when more follow.
  auto list = bp::CreateSandboxList(fbb, fbb.CreateVector(out), fbb.CreateString(more ? last_id : ""));
  bp::FinishReplyBuffer(fbb,
                        bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::SandboxList, list.Union()));
  publish(self, m.reply, bp::finish(fbb));
}

void on_bus(Self* self, const bus::Message& m) {
  auto env = bp::open_envelope(m.data);
  if (!env) {
    ++self->state.ctx->bad_messages;
    publish(self, m.reply, bp::error_reply("", env.error().code, env.error().message));
    return;
  }
  const std::string request_id = (*env)->request_id()->str();
  if ((*env)->deadline_unix_ms() && (*env)->deadline_unix_ms() < unix_ms_now()) {
    publish(self, m.reply,
            bp::error_reply(request_id, ErrorCode::timeout, "the request's deadline passed before it ran"));
    return;
  }
  const std::string op = subjects::last_token(m.subject);
  if (op == "create" && self->state.draining) {
    publish(self, m.reply, bp::error_reply(request_id, ErrorCode::unavailable, "the node is shutting down"));
    return;
  }
  if (op == "create") return on_create(self, m, **env, request_id);
  if (op == "health") return publish(self, m.reply, health_reply(self, request_id));
  if (op == "list") return on_list(self, m, **env, request_id);
  if (op == "pool") {
    const std::string reply_to = m.reply;
    self->request(self->state.pool, caf::infinite, stats_atom::value, request_id).then([=](const std::string& reply) {
      publish(self, reply_to, reply);
    });
    return;
  }
  publish(self, m.reply,
          bp::error_reply(request_id, ErrorCode::invalid_argument,
                          "unknown node operation '" + op + "' (create, health, list, pool: docs/bus.md)"));
}

// Deletes what the node keeps of sandboxes that ended long enough ago, and
// does so again later.
void forget_ended(Self* self) {
  const auto& settings = self->state.ctx->settings;
  auto forgotten = forget_ended_records(*self->state.ctx->store, unix_ms_now(), settings.ended_retention_ms);
  if (!forgotten)
    logger("node")->error("retention of ended sandboxes: {}", forgotten.error().message);
  else if (forgotten->records || forgotten->request_keys)
    logger("node")->debug("retention: forgot {} ended sandbox(es) and {} create request key(s)", forgotten->records,
                          forgotten->request_keys);
  // A short retention is kept to closely: a tenth of it, between 1 s and 1 min.
  const auto every = std::chrono::milliseconds(std::clamp<int64_t>(settings.ended_retention_ms / 10, 1000, 60000));
  self->delayed_send(self, every, forget_atom::value);
}

}  // namespace

caf::behavior node_actor(Self* self, std::shared_ptr<NodeContext> ctx, caf::actor pool) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.pool = std::move(pool);
  st.admits = st.ctx->admission ? st.ctx->admission->settings() : resolve_admission(st.ctx->settings.admission);
  st.density = st.ctx->density;
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    self->state.draining = true;
    publish_heartbeat(self);  // schedulers stop placing here at once
    for (auto& [id, sandbox] : self->state.sandboxes) self->send_exit(sandbox, msg.reason);
    self->state.sandboxes.clear();
    self->send_exit(self->state.pool, msg.reason);
    self->quit(msg.reason);
  });
  self->send(self, forget_atom::value);
  return {
      [=](bus_atom, const bus::Message& m) { on_bus(self, m); },
      [=](beat_atom) {  // periodic; main sends the first once the bus is live
        if (self->state.ctx->admission) self->state.ctx->admission->measure();
        publish_heartbeat(self);
        self->delayed_send(self, std::chrono::seconds(1), beat_atom::value);
      },
      [=](beat_atom, bool) {  // early, to confirm reservations
        self->state.confirm_scheduled = false;
        if (!self->state.consumed_reservations.empty()) publish_heartbeat(self);
      },
      [=](forget_atom) { forget_ended(self); },
      [=](ended_atom, const std::string& id, const std::string&) {
        auto& node = self->state;
        node.sandboxes.erase(id);
        if (auto it = node.reserved.find(id); it != node.reserved.end()) {
          if (node.ctx->admission) node.ctx->admission->release(it->second.memory_bytes, it->second.cpus);
          node.reserved.erase(it);
        }
      },
  };
}

}  // namespace soulbox::actors
