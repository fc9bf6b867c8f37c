// Shared helpers for tests that create real sandboxes.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "agent/client/agent_client.h"
#include "isolation/runtime.h"

namespace soulbox::test {

// One Runtime per test process, with its own data dir under /tmp and its own
// cgroup parent ("soulbox-test"), removed at exit.
isolation::Runtime& runtime();
const std::string& data_dir();
const std::string& build_dir();  // where soulbox-isolate and test programs live

// A sandbox plus a handshaken client.
struct Box {
  std::unique_ptr<isolation::Sandbox> sandbox;
  std::unique_ptr<AgentClient> client;

  ProcessResult run(const std::vector<std::string>& argv, uint32_t timeout_ms = 20000);
  ProcessResult sh(const std::string& script, uint32_t timeout_ms = 20000);  // /bin/sh -c
  ProcessResult as_root(const std::string& script);
  // Starts argv without waiting (REQUIREs success); wait with client->wait(id, ...).
  struct Started {
    int pid;
    uint64_t id;
  };
  Started start(const std::vector<std::string>& argv);
};

// Creates a sandbox (REQUIREs success). Test programs from build/tests are
// bound read-only at /opt/probes.
Box make_box(isolation::SandboxSpec spec = {});

// Host-side evidence that a sandbox left nothing behind.
struct Leftovers {
  std::vector<std::string> processes;  // host pids still running as the sandbox's ids
  bool cgroup_dir = false;
  bool scratch_dir = false;
};
Leftovers leftovers_of(const std::string& id, uint32_t host_id_base);
bool clean(const Leftovers& l);

// Number of mounts in the host's mount namespace (must not change).
size_t host_mount_count();

// Runs a command on the host, returning stdout (for soulbox-isolate tests).
struct HostRun {
  int exit_code = -1;
  std::string out, err;
};
HostRun run_host(const std::vector<std::string>& argv, const std::string& stdin_data = "");

}  // namespace soulbox::test
