#include "actors/pool_actor.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "actors/template_catalog.h"
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

void discard(Self* self, PoolTemplate& t, SandboxHandle h) {
  ++t.discarded;
  self->send(self->state.creator, destroy_atom::value, h.box->id);
}

// The template's kernels start while the sandbox waits in the pool (or is
// handed out): the agent starts them in the background and answers ids the
// sandbox actor ignores.
void start_warm_contexts(const TemplateEntry& entry, const isolation::RemoteSandbox& box) {
  for (const auto& frame : warm_context_frames(entry)) {
    size_t done = 0;
    while (done < frame.size()) {
      const ssize_t n = ::send(box.channel.get(), frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        logger("pool")->warn("{}: cannot start its warm contexts: {}", box.id, std::strerror(errno));
        return;
      }
      done += size_t(n);
    }
  }
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

void record_acquire(PoolTemplate* t, bool hit, int64_t start_us) {
  if (!t) return;
  (hit ? t->hits : t->misses)++;
  t->acquire_us.push_back(double(mono_us() - start_us));
  if (t->acquire_us.size() > 1000) t->acquire_us.pop_front();
}

// After an acquire the refill waits a few ms: a create burns both CPUs of a
// small host for ~3 ms, and the request that took the sandbox should finish
// (actor start, reply) first.
void queue_refill(Self* self, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  if (self->state.refill_queued) return;
  self->state.refill_queued = true;
  if (delay.count() > 0)
    self->delayed_send(self, delay, refill_atom::value);
  else
    self->send(self, refill_atom::value);
}

// A warm sandbox counts in the node's admission like any other, and waits
// while the node is nearly full: user creates come first.
bool admitted(Self* self) {
  auto& st = self->state;
  if (!st.ctx->admission) return true;
  auto ok = st.ctx->admission->reserve(0, 0, AdmissionFor::pool);
  if (!ok && !st.held_back) logger("pool")->info("{}", ok.error().message);
  if (ok && st.held_back) logger("pool")->info("warm pools refill again");
  st.held_back = !ok;
  return ok.ok();
}

// Replaces stale warm sandboxes, shrinks pools whose demand fell, and asks
// the creator for one sandbox for the first pool below its target.
void refill(Self* self) {
  auto& st = self->state;
  st.refill_queued = false;
  if (st.refill_in_flight) return;
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
    if (!admitted(self)) return;  // the periodic tick tries again
    st.refill_in_flight = true;
    const std::string name = t.config.template_name;
    self->request(st.creator, caf::infinite, make_atom::value, AcquireRequest{name, 0, 0, 0, 0})
        .then([=](const AcquireResult& r) {
          self->state.refill_in_flight = false;
          if (self->state.ctx->admission) self->state.ctx->admission->made(r.handle.box != nullptr);
          PoolTemplate* pool = find(self, name);
          if (!r.handle.box) {
            logger("pool")->error("warming a '{}' sandbox failed: {}", name, r.message);
            return;  // the periodic tick retries
          }
          if (pool) pool->warm.push_back(r.handle);
          queue_refill(self);
        });
    return;
  }
}

caf::typed_response_promise<AcquireResult> acquire(Self* self, const AcquireRequest& r) {
  auto& st = self->state;
  const int64_t start = mono_us();
  auto rp = self->make_response_promise<AcquireResult>();
  PoolTemplate* t = find(self, r.template_name);
  if (t) {
    t->demand.record(unix_ms_now());
    queue_refill(self, std::chrono::milliseconds(5));
  }
  if (t && pool_fits(st.settings.limits, r)) {
    while (!t->warm.empty()) {
      SandboxHandle h = std::move(t->warm.front());
      t->warm.pop_front();
      if (!alive(h)) {
        discard(self, *t, std::move(h));
        continue;
      }
      record_acquire(t, true, start);
      AcquireResult result;
      result.handle = std::move(h);
      result.pool_hit = true;
      result.limits = st.settings.limits;
      rp.deliver(std::move(result));
      return rp;
    }
  }
  const std::string name = r.template_name;
  self->request(st.creator, caf::infinite, make_atom::value, r).then([=](AcquireResult made) mutable {
    record_acquire(find(self, name), false, start);
    rp.deliver(std::move(made));
  });
  return rp;
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

caf::behavior creator_actor(caf::event_based_actor* self, std::shared_ptr<NodeContext> ctx,
                            isolation::Limits defaults) {
  (void)self;
  return {
      [=](make_atom, const AcquireRequest& r) {
        AcquireResult result;
        const TemplateEntry* entry = find_template(r.template_name);
        isolation::SandboxSpec spec;
        spec.template_name = entry ? entry->rootfs : r.template_name;
        spec.limits = limits_for(defaults, r);
        result.limits = spec.limits;
        auto box = ctx->launcher->create(spec);
        if (box && entry) start_warm_contexts(*entry, *box);
        if (box) {
          result.handle = SandboxHandle{std::make_shared<isolation::RemoteSandbox>(std::move(*box)), unix_ms_now()};
        } else {
          result.code = uint16_t(box.error().code);
          result.message = box.error().message;
        }
        return result;
      },
      [=](destroy_atom, const std::string& id) {
        if (auto d = ctx->launcher->destroy(id); !d) logger("pool")->warn("destroying {}: {}", id, d.error().message);
      },
  };
}

caf::behavior pool_actor(Self* self, std::shared_ptr<NodeContext> ctx, PoolSettings settings) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.settings = std::move(settings);
  st.creator = st.settings.creator_thread
                   ? self->spawn<caf::detached + caf::linked>(creator_actor, st.ctx, st.settings.limits)
                   : self->spawn<caf::linked>(creator_actor, st.ctx, st.settings.limits);
  for (const auto& config : st.settings.pools) st.templates.push_back(PoolTemplate{config, {}, {}, 0, 0, 0, {}});
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& t : self->state.templates) {
      for (auto& h : t.warm) (void)self->state.ctx->launcher->destroy(h.box->id);  // synchronously: shutdown
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
