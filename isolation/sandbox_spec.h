// What a caller asks for when it creates a sandbox. Plain data; validated by
// validate_spec() before anything touches the kernel.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::isolation {

struct Limits {
  uint64_t memory_bytes = 512ull << 20;  // cgroup memory limit, no swap
  double cpus = 1.0;                     // CFS quota in CPUs (0.01 .. host cores)
  uint32_t pids = 256;                   // cgroup pids.max (also RLIMIT_NPROC)
  uint64_t disk_bytes = 1ull << 30;      // size of the writable root layer
  uint64_t disk_inodes = 65536;          // inodes of the writable root layer
  uint64_t tmp_bytes = 256ull << 20;     // size of /tmp (and of /dev/shm)
  uint64_t tmp_inodes = 16384;           // inodes of /tmp and of /dev/shm, each
  // Terminals (devpts max=). Every non-initial devpts instance draws on one
  // kernel-wide pool (kernel.pty.max - kernel.pty.reserve), so this is small.
  uint32_t ptys = 8;
  uint32_t nofile = 1024;             // RLIMIT_NOFILE
  uint64_t fsize_bytes = 1ull << 30;  // RLIMIT_FSIZE
};

struct BindMount {
  std::string host_path;     // absolute host path
  std::string sandbox_path;  // absolute path inside the sandbox
  bool writable = false;
};

struct SandboxSpec {
  std::string id;  // empty: generated
  std::string template_name = "base";
  Limits limits;
  std::string hostname = "soulbox";
  std::vector<BindMount> binds;  // extra binds on top of the template's
};

// Range checks with messages a user can act on ("memory must be between ...").
Status validate_spec(const SandboxSpec& spec);

// True for ids made of [A-Za-z0-9_-], 1..64 chars: safe as a path component,
// a cgroup name and a bus subject token.
bool valid_sandbox_id(const std::string& id);

}  // namespace soulbox::isolation
