#include "actors/sandbox_metrics.h"

#include <algorithm>

#include "actors/oom_cause.h"
#include "actors/sandbox_audit.h"
#include "actors/sandbox_bus.h"
#include "common/log.h"
#include "isolation/sandbox_usage.h"

namespace soulbox::actors {
namespace bp = busproto;

namespace {

// Processes the OOM killer took since the last sample: logged and audited
// with the cause; the sandbox goes on unless its agent was one of them.
void report_oom_kills(SandboxSelf* self, const isolation::CgroupUsage& usage) {
  auto& st = self->state;
  const uint64_t killed = usage.oom_kills - st.oom_kills;
  st.oom_kills = usage.oom_kills;
  const std::string cause =
      describe(oom_cause(st.cgroup->memory_limit_reached_since_last_check()), st.settings.memory_bytes);
  logger("sandbox")->warn("{}: the OOM killer took {} process(es): {}", st.settings.id, killed, cause);
  audit_event(self, "sandbox.oom", "ok", "", "", {{"killed", killed}, {"cause", cause}});
}

}  // namespace

void sample_usage(SandboxSelf* self) {
  auto& st = self->state;
  if (st.state == bp::SandboxState::Terminated) return;
  self->delayed_send(self, std::chrono::milliseconds(st.ctx->settings.metrics_interval_ms), sample_atom::value);
  if (st.state != bp::SandboxState::Running) return;
  auto sampled = isolation::read_sandbox_usage(*st.cgroup, st.handle.box->agent_pid);
  if (!sampled) return;
  const isolation::CgroupUsage& usage = sampled->cgroup;
  const int64_t now = unix_ms_now();
  MetricsPoint p;
  p.unix_ms = now;
  if (st.last_sample_ms && now > st.last_sample_ms)
    p.cpu_percent = float(double(usage.cpu_usec - std::min(usage.cpu_usec, st.last_cpu_usec)) /
                          (double(now - st.last_sample_ms) * 1000.0) * 100.0);
  st.last_cpu_usec = usage.cpu_usec;
  st.last_sample_ms = now;
  p.memory_bytes = usage.memory_current;
  if (st.settings.memory_bytes)
    p.memory_percent = float(double(p.memory_bytes) * 100.0 / double(st.settings.memory_bytes));
  p.disk_read_bytes = usage.io_read_bytes;
  p.disk_write_bytes = usage.io_write_bytes;
  p.net_rx_bytes = sampled->net.rx;
  p.net_tx_bytes = sampled->net.tx;
  p.processes = uint32_t(usage.pids_current);
  p.oom_kills = uint32_t(usage.oom_kills);
  st.metrics.add(p);
  if (usage.oom_kills > st.oom_kills) report_oom_kills(self, usage);
}

void on_metrics_query(SandboxSelf* self, const OpRequest& r) {
  const auto* q = r.envelope.body_as_MetricsQuery();
  const auto points = self->state.metrics.range(q ? q->from_unix_ms() : 0, q ? q->to_unix_ms() : 0);
  std::vector<bp::MetricsSample> samples;
  samples.reserve(points.size());
  for (const auto& p : points)
    samples.emplace_back(p.unix_ms, p.cpu_percent, p.memory_percent, p.memory_bytes, p.disk_read_bytes,
                         p.disk_write_bytes, p.net_rx_bytes, p.net_tx_bytes, p.processes, p.oom_kills);
  flatbuffers::FlatBufferBuilder fbb(256 + samples.size() * sizeof(bp::MetricsSample));
  auto series = bp::CreateMetricsSeries(fbb, fbb.CreateVectorOfStructs(samples));
  bp::FinishReplyBuffer(
      fbb, bp::CreateReply(fbb, fbb.CreateString(r.request_id), 0, 0, bp::Body::MetricsSeries, series.Union()));
  publish(self, r.message.reply, bp::finish(fbb));
}

}  // namespace soulbox::actors
