// Why the kernel's OOM killer took a sandbox's process: the sandbox reached
// its own memory limit, or the sandboxes together reached the node's
// capacity (their parent cgroup's cap, admission's safety net). The kernel
// counts a kill in the victim's group either way; the group's peak tells
// the two apart.
#pragma once
#include <cstdint>
#include <string>

namespace soulbox::actors {

enum class OomCause { own_limit, node_memory };

// Within 2 % of its limit at its peak: its own limit.
OomCause oom_cause(uint64_t memory_peak_bytes, uint64_t memory_limit_bytes);

// For logs and audit events, e.g. "its memory limit of 512 MiB".
std::string describe(OomCause cause, uint64_t memory_limit_bytes);

}  // namespace soulbox::actors
