#include "actors/pool_actor.h"

#include <poll.h>

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "messages/bus_codec.h"

namespace soulbox::actors {
namespace bp = busproto;

namespace {

using Self = caf::stateful_actor<PoolActorState>;

int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// True while the agent runs (its pidfd is not readable yet).
bool alive(const SandboxHandle& h) {
  struct pollfd p {
    h.box->pidfd.get(), POLLIN, 0
  };
  return ::poll(&p, 1, 0) == 0;
}

Result<SandboxHandle> create(Self* self, const std::string& template_name, const isolation::Limits& limits) {
  isolation::SandboxSpec spec;
  spec.template_name = template_name;
  spec.limits = limits;
  auto box = self->state.ctx->launcher->create(spec);
  if (!box) return box.error();
  return SandboxHandle{std::make_shared<isolation::RemoteSandbox>(std::move(*box)), unix_ms_now()};
}

void discard(Self* self, PoolTemplate& t, SandboxHandle h) {
  ++t.discarded;
  (void)self->state.ctx->launcher->destroy(h.box->id);
}

PoolTemplate* find(Self* self, const std::string& name) {
  for (auto& t : self->state.templates)
    if (t.config.template_name == name) return &t;
  return nullptr;
}

bool pool_fits(const isolation::Limits& pool, const AcquireRequest& r) {
  return (!r.memory_bytes || r.memory_bytes == pool.memory_bytes) && (r.cpus <= 0 || r.cpus == pool.cpus) &&
         (!r.pids || r.pids == pool.pids) && (!r.disk_bytes || r.disk_bytes == pool.disk_bytes);
}

isolation::Limits limits_for(const isolation::Limits& base, const AcquireRequest& r) {
  isolation::Limits l = base;
  if (r.memory_bytes) l.memory_bytes = r.memory_bytes;
  if (r.cpus > 0) l.cpus = r.cpus;
  if (r.pids) l.pids = r.pids;
  if (r.disk_bytes) l.disk_bytes = r.disk_bytes;
  return l;
}

void queue_refill(Self* self) {
  if (self->state.refill_queued) return;
  self->state.refill_queued = true;
  self->send(self, refill_atom::value);
}

// One create for the first pool below its target, and stale ones replaced.
void refill(Self* self) {
  auto& st = self->state;
  st.refill_queued = false;
  const int64_t now = unix_ms_now();
  for (auto& t : st.templates) {
    while (!t.warm.empty() && (now - t.warm.front().created_unix_ms > t.config.max_idle_ms || !alive(t.warm.front()))) {
      discard(self, t, t.warm.front());
      t.warm.pop_front();
    }
    const uint32_t target = t.demand.target(t.config, now);
    while (t.warm.size() > target) {  // demand fell: give memory back
      discard(self, t, t.warm.back());
      t.warm.pop_back();
    }
    if (t.warm.size() >= target) continue;
    auto h = create(self, t.config.template_name, st.settings.limits);
    if (!h) {
      logger("pool")->error("warming a '{}' sandbox failed: {}", t.config.template_name, h.error().message);
      return;  // the periodic tick retries
    }
    t.warm.push_back(std::move(*h));
    queue_refill(self);
    return;
  }
}

AcquireResult acquire(Self* self, const AcquireRequest& r) {
  auto& st = self->state;
  const int64_t start = mono_us();
  AcquireResult result;
  PoolTemplate* t = find(self, r.template_name);
  if (t) t->demand.record(unix_ms_now());
  if (t && pool_fits(st.settings.limits, r)) {
    while (!t->warm.empty()) {
      SandboxHandle h = std::move(t->warm.front());
      t->warm.pop_front();
      if (!alive(h)) {
        discard(self, *t, std::move(h));
        continue;
      }
      result.handle = std::move(h);
      result.pool_hit = true;
      break;
    }
  }
  if (!result.pool_hit) {
    result.limits = limits_for(st.settings.limits, r);
    auto h = create(self, r.template_name, result.limits);
    if (h) {
      result.handle = std::move(*h);
    } else {
      result.code = uint16_t(h.error().code);
      result.message = h.error().message;
    }
  } else {
    result.limits = st.settings.limits;
  }
  if (t) {
    (result.pool_hit ? t->hits : t->misses)++;
    t->acquire_us.push_back(double(mono_us() - start));
    if (t->acquire_us.size() > 1000) t->acquire_us.pop_front();
    queue_refill(self);
  }
  return result;
}

float percentile(std::deque<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return float(v[std::min(v.size() - 1, size_t(q * double(v.size())))]);
}

std::string stats_reply(Self* self, const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(512);
  std::vector<flatbuffers::Offset<bp::TemplatePoolStats>> out;
  const int64_t now = unix_ms_now();
  for (auto& t : self->state.templates)
    out.push_back(bp::CreateTemplatePoolStats(
        fbb, fbb.CreateString(t.config.template_name), uint32_t(t.warm.size()), t.config.min_warm, t.config.max_size,
        fbb.CreateString(pool_strategy_name(t.config.strategy)), t.hits, t.misses, percentile(t.acquire_us, 0.5),
        percentile(t.acquire_us, 0.99), t.discarded));
  (void)now;
  auto stats = bp::CreatePoolStats(fbb, fbb.CreateVector(out));
  bp::FinishReplyBuffer(fbb,
                        bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::PoolStats, stats.Union()));
  return bp::finish(fbb);
}

}  // namespace

caf::behavior pool_actor(Self* self, std::shared_ptr<NodeContext> ctx, PoolSettings settings) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.settings = std::move(settings);
  for (const auto& config : st.settings.pools) st.templates.push_back(PoolTemplate{config, {}, {}, 0, 0, 0, {}});
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& t : self->state.templates) {
      for (auto& h : t.warm) (void)self->state.ctx->launcher->destroy(h.box->id);
      t.warm.clear();
    }
    self->quit(msg.reason);
  });
  queue_refill(self);
  self->send(self, stats_atom::value);  // starts the periodic tick (below)
  return {
      [=](acquire_atom, const AcquireRequest& r) { return acquire(self, r); },
      [=](refill_atom) { refill(self); },
      [=](stats_atom) {  // periodic: demand changes and stale ones are noticed without traffic
        queue_refill(self);
        self->delayed_send(self, std::chrono::milliseconds(self->state.settings.refill_interval_ms), stats_atom::value);
      },
      [=](stats_atom, const std::string& request_id) { return stats_reply(self, request_id); },
  };
}

}  // namespace soulbox::actors
