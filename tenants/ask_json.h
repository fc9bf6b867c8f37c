// A sandbox's quota ask as JSON: the `quota_ask` object in the audit
// events that spend or give back quota (docs/audit.md), so that an audit
// replay can fold the tenants' usage from the log.
#pragma once
#include <nlohmann/json.hpp>

#include "tenants/quota.h"

namespace soulbox::tenants {

inline nlohmann::json ask_json(const SandboxAsk& a) {
  return {{"cpus", a.cpus}, {"memory_bytes", a.memory_bytes}, {"disk_bytes", a.disk_bytes}};
}

inline SandboxAsk ask_from_json(const nlohmann::json& j) {
  SandboxAsk a;
  a.cpus = j.value("cpus", 0.0);
  a.memory_bytes = j.value("memory_bytes", uint64_t(0));
  a.disk_bytes = j.value("disk_bytes", uint64_t(0));
  return a;
}

}  // namespace soulbox::tenants
