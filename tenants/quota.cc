#include "tenants/quota.h"

#include <algorithm>

namespace soulbox::tenants {
namespace {

Error exhausted(const std::string& what, const std::string& limit) {
  return Error{ErrorCode::resource_exhausted, "quota: " + what + " would pass the tenant's limit of " + limit};
}

}  // namespace

Status admit(const Quota& q, const Usage& u, const SandboxAsk& a) {
  if (q.max_concurrent && u.running + 1 > q.max_concurrent)
    return exhausted("running sandboxes", std::to_string(q.max_concurrent));
  if (q.max_total && u.created_total + 1 > q.max_total)
    return exhausted("sandboxes created", std::to_string(q.max_total));
  if (q.max_cpus > 0 && u.cpus + a.cpus > q.max_cpus + 1e-9)
    return exhausted("cpus of running sandboxes", std::to_string(q.max_cpus));
  if (q.max_memory_bytes && u.memory_bytes + a.memory_bytes > q.max_memory_bytes)
    return exhausted("memory of running sandboxes", std::to_string(q.max_memory_bytes >> 20) + " MiB");
  if (q.max_storage_bytes && u.storage_bytes + a.disk_bytes > q.max_storage_bytes)
    return exhausted("storage of running sandboxes", std::to_string(q.max_storage_bytes >> 20) + " MiB");
  return {};
}

Usage started(Usage u, const SandboxAsk& a) {
  ++u.running;
  ++u.created_total;
  u.cpus += a.cpus;
  u.memory_bytes += a.memory_bytes;
  u.storage_bytes += a.disk_bytes;
  return u;
}

Usage ended(Usage u, const SandboxAsk& a) {
  u.running = u.running ? u.running - 1 : 0;
  u.cpus = std::max(0.0, u.cpus - a.cpus);
  u.memory_bytes = u.memory_bytes > a.memory_bytes ? u.memory_bytes - a.memory_bytes : 0;
  u.storage_bytes = u.storage_bytes > a.disk_bytes ? u.storage_bytes - a.disk_bytes : 0;
  return u;
}

UsageReport usage_report(const std::vector<SandboxSpan>& spans, int64_t from, int64_t to, const Prices& p) {
  UsageReport r;
  for (const auto& s : spans) {
    const int64_t end = s.end_ms ? s.end_ms : to;
    const int64_t overlap = std::min(end, to) - std::max(s.start_ms, from);
    if (s.start_ms >= from && s.start_ms < to) ++r.sandboxes;
    if (overlap <= 0) continue;
    const double hours = double(overlap) / 3.6e6;
    r.cpu_hours += s.cpus * hours;
    r.gib_hours += double(s.memory_bytes) / double(1ull << 30) * hours;
  }
  r.cost = r.cpu_hours * p.per_cpu_hour + r.gib_hours * p.per_gib_hour + double(r.sandboxes) * p.per_sandbox;
  return r;
}

}  // namespace soulbox::tenants
