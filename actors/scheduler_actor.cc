#include "actors/scheduler_actor.h"

#include "bus/subjects.h"
#include "messages/bus_codec.h"

namespace soulbox::actors {
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

using Self = caf::stateful_actor<SchedulerActorState>;

std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}

NodeView view_of(const bp::NodeHealth& h) {
  NodeView n;
  n.name = str(h.node());
  n.status = str(h.status());
  n.region = str(h.region());
  if (h.labels())
    for (const auto* kv : *h.labels()) n.labels[str(kv->key())] = str(kv->value());
  n.cpu_capacity = h.cpu_capacity();
  n.cpu_free = h.cpu_free();
  n.memory_capacity_bytes = h.memory_capacity_bytes();
  n.memory_free_bytes = h.memory_free_bytes();
  n.cpus_reserved = h.cpus_reserved();
  n.new_sandbox_memory_bytes = h.new_sandbox_memory_bytes();
  n.sandboxes = h.sandboxes();
  n.reported_unix_ms = h.sent_unix_ms();
  if (h.consumed_reservations())
    for (const auto* id : *h.consumed_reservations()) n.consumed_reservations.push_back(id->str());
  return n;
}

PlacementRequest request_of(const bp::CreateSandbox& c) {
  PlacementRequest r;
  if (c.cpus() > 0) r.cpus = c.cpus();
  if (c.memory_bytes()) r.memory_bytes = c.memory_bytes();
  if (c.node_selector())
    for (const auto* kv : *c.node_selector()) r.node_selector[str(kv->key())] = str(kv->value());
  r.region = str(c.region());
  r.prefer_node = str(c.prefer_node());
  return r;
}

void on_heartbeat(Self* self, const bus::Message& m) {
  auto env = bp::open_envelope(m.data);
  if (!env || (*env)->body_type() != bp::Body::NodeHealth) {
    ++self->state.ctx->bad_messages;
    return;
  }
  NodeView n = view_of(*(*env)->body_as_NodeHealth());
  if (!subjects::valid_token(n.name)) return;
  observe(self->state.nodes, std::move(n), self->state.options, unix_ms_now());
}

void on_place(Self* self, const bus::Message& m) {
  auto& st = self->state;
  auto env = bp::open_envelope(m.data);
  if (!env) {
    ++st.ctx->bad_messages;
    (void)st.ctx->bus->publish(m.reply, bp::error_reply("", env.error().code, env.error().message));
    return;
  }
  const std::string request_id = (*env)->request_id()->str();
  const auto* create = (*env)->body_as_CreateSandbox();
  if (!create) {
    (void)st.ctx->bus->publish(m.reply, bp::error_reply(request_id, ErrorCode::invalid_argument,
                                                        "sb.v1.sched.place needs a CreateSandbox body"));
    return;
  }
  PlacementRequest request = request_of(*create);
  request.reservation_id = request_id;
  auto node = place(st.nodes, request, st.options, unix_ms_now());
  if (!node) {
    (void)st.ctx->bus->publish(m.reply, bp::error_reply(request_id, node.error().code, node.error().message));
    return;
  }
  flatbuffers::FlatBufferBuilder fbb(256);
  auto placement = bp::CreatePlacement(fbb, fbb.CreateString(*node), fbb.CreateString(request_id));
  bp::FinishReplyBuffer(
      fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::Placement, placement.Union()));
  (void)st.ctx->bus->publish(m.reply, bp::finish(fbb));
}

}  // namespace

caf::behavior scheduler_actor(Self* self, std::shared_ptr<NodeContext> ctx, PlacementOptions options) {
  self->state.ctx = std::move(ctx);
  self->state.options = options;
  return {
      [=](stats_atom) { return uint64_t(self->state.nodes.size()); },
      [=](bus_atom, const bus::Message& m) {
        if (m.subject == subjects::sched_place())
          on_place(self, m);
        else
          on_heartbeat(self, m);
      },
  };
}

Status subscribe_scheduler(caf::actor scheduler, NodeContext& ctx,
                           std::vector<std::unique_ptr<bus::Subscription>>& out) {
  auto forward = [scheduler](bus::Message m) { caf::anon_send(scheduler, bus_atom::value, std::move(m)); };
  auto hb = ctx.bus->subscribe(subjects::node_heartbeats(), "", forward);
  if (!hb) return hb.error();
  out.push_back(std::move(*hb));
  auto place = ctx.bus->subscribe(subjects::sched_place(), "schedulers", forward);
  if (!place) return place.error();
  out.push_back(std::move(*place));
  return ctx.bus->flush(2000);
}

}  // namespace soulbox::actors
