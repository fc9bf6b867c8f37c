// A sandbox's quota ask as JSON: the `quota_ask` object in the audit
// events that spend or give back quota (docs/audit.md), so that an audit
// replay can fold the tenants' usage from the log.
#pragma once
#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "tenants/quota.h"

namespace soulbox::tenants {

inline nlohmann::json ask_json(const SandboxAsk& a) {
  return {{"cpus", a.cpus}, {"memory_bytes", a.memory_bytes}, {"disk_bytes", a.disk_bytes}};
}

// Typed reads: the object comes from the audit stream or the node's own
// store; a field of another type reads as 0 rather than throwing.
inline SandboxAsk ask_from_json(const nlohmann::json& j) {
  SandboxAsk a{0, 0, 0};
  JsonFields f(j, "quota ask");
  f.read("cpus", a.cpus);
  f.read("memory_bytes", a.memory_bytes);
  f.read("disk_bytes", a.disk_bytes);
  return f.ok() ? a : SandboxAsk{0, 0, 0};
}

}  // namespace soulbox::tenants
