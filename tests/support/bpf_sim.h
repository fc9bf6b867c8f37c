// A classic-BPF interpreter for seccomp programs, so tests read verdicts
// from the exported filter itself rather than from the table it was built
// from. Covers the instructions the kernel accepts for seccomp.
#pragma once
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace soulbox::test {

// The filter's return value (SECCOMP_RET_*), or nullopt when the program is
// malformed (jump out of range, unknown opcode, load outside seccomp_data).
std::optional<uint32_t> run_seccomp_bpf(const std::vector<sock_filter>& program, const seccomp_data& data);

}  // namespace soulbox::test
