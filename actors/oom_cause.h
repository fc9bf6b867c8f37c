// Why the kernel's OOM killer took a sandbox's process: the sandbox reached
// its own memory limit, or the sandboxes together reached the node's
// capacity (their parent cgroup's cap, admission's safety net). The kernel
// counts a kill in the victim's group either way; whether the group reached
// its own limit since the last look (Cgroup::memory_limit_reached_since_last_check)
// tells the two apart.
#pragma once
#include <cstdint>
#include <string>

namespace soulbox::actors {

enum class OomCause { own_limit, node_memory };

OomCause oom_cause(bool own_limit_reached);

// For logs and audit events, e.g. "its memory limit of 512 MiB".
std::string describe(OomCause cause, uint64_t memory_limit_bytes);

}  // namespace soulbox::actors
