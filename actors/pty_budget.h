// How many sandboxes the kernel's pty pool can serve. Every devpts instance
// but the host's draws on one kernel-wide pool of kernel.pty.max -
// kernel.pty.reserve terminals; each sandbox's instance is capped
// (Limits::ptys), and admission keeps the sum of caps within the pool so no
// sandbox can be starved of terminals by its neighbours.
#pragma once
#include <cstdint>
#include <string>

namespace soulbox::actors {

struct PtyPool {
  uint64_t max = 4096;      // kernel.pty.max
  uint64_t reserve = 1024;  // kernel.pty.reserve: kept for the host's own devpts
};

// Reads the pool from /proc/sys/kernel/pty (the kernel's defaults when a
// file cannot be read).
PtyPool read_pty_pool(const std::string& proc_dir = "/proc/sys/kernel/pty");

// Sandboxes whose caps fit in the pool (0 when none does).
uint64_t sandboxes_within_pty_pool(const PtyPool& pool, uint32_t ptys_per_sandbox);

}  // namespace soulbox::actors
