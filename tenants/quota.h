// Tenant quotas and usage (pure logic). The tenant actor folds usage from
// the SB_EVENTS stream; admission is checked against the folded usage before
// a create is spent with an expected-sequence publish (docs/tenants.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::tenants {

struct Quota {  // 0: unlimited
  uint32_t max_concurrent = 0;
  uint64_t max_total = 0;  // sandboxes ever created
  double max_cpus = 0;     // summed over running sandboxes
  uint64_t max_memory_bytes = 0;
  uint64_t max_storage_bytes = 0;
  uint32_t max_templates = 0;  // not enforced until templates can be created (the templates work)
};

struct Usage {
  uint32_t running = 0;
  uint64_t created_total = 0;
  double cpus = 0;
  uint64_t memory_bytes = 0;
  uint64_t storage_bytes = 0;
  uint32_t templates = 0;
};

struct SandboxAsk {
  double cpus = 1;
  uint64_t memory_bytes = 512ull << 20;
  uint64_t disk_bytes = 1ull << 30;
};

// ok, or resource_exhausted naming the first limit the sandbox would pass.
Status admit(const Quota& quota, const Usage& usage, const SandboxAsk& ask);
Usage started(Usage usage, const SandboxAsk& ask);
Usage ended(Usage usage, const SandboxAsk& ask);

// Usage over a period, priced.
struct Prices {
  double per_cpu_hour = 0;
  double per_gib_hour = 0;
  double per_sandbox = 0;
};
struct SandboxSpan {
  int64_t start_ms = 0, end_ms = 0;  // end 0: still running
  double cpus = 0;
  uint64_t memory_bytes = 0;
};
struct UsageReport {
  uint64_t sandboxes = 0;  // started within the period
  double cpu_hours = 0, gib_hours = 0, cost = 0;
};
UsageReport usage_report(const std::vector<SandboxSpan>& spans, int64_t from_ms, int64_t to_ms, const Prices& prices);

}  // namespace soulbox::tenants
