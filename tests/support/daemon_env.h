// A real soulboxd for tests: the built binary, started as a child with its
// own data dir under /tmp, its embedded nats-server, and the test cgroup
// parent; plus a Client connected through the bus.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "client/client.h"

namespace soulbox::test {

class Daemon {
 public:
  // Starts soulboxd with `args` added (REQUIREs that it becomes ready).
  // `root` reuses the directory of an earlier daemon (a restart).
  // `env`: more KEY=VALUE for soulboxd (e.g. SOULBOX_CRASH_AT).
  // `open_file_limit`: soulboxd's RLIMIT_NOFILE, soft and hard (0: ours).
  explicit Daemon(std::vector<std::string> args = {}, std::string root = "", std::vector<std::string> env = {},
                  uint64_t open_file_limit = 0);
  ~Daemon();  // stops it and removes its directory (unless keep_root)

  client::Client& client() { return *client_; }
  const std::string& node() const { return node_; }
  // How to reach its bus (for a second daemon: join_args()).
  const client::NodeAddress& address() const { return address_; }
  std::vector<std::string> join_args() const {
    // Nodes of one cluster share the secrets key (it seals tenant records).
    return {"--nats",          address_.connect.url,      "--nats-user",   address_.connect.user,
            "--nats-password", address_.connect.password, "--secrets-key", root_ + "/data/secrets.key"};
  }
  pid_t pid() const { return pid_; }
  const std::string& root() const { return root_; }
  std::string data_dir() const { return root_ + "/data"; }
  std::string output() const;  // what soulboxd printed
  bool keep_root = false;

  void kill9();  // SIGKILL, reaped
  // Waits up to `timeout_ms` for soulboxd to die of SIGKILL on its own (a
  // crash point); reaps it. False if it is still running or ended otherwise.
  bool wait_killed(int timeout_ms);
  int stop();  // SIGTERM; the exit status (-1 if it had to be killed)

 private:
  pid_t pid_ = -1;
  std::string root_, node_;
  client::NodeAddress address_;
  std::unique_ptr<client::Client> client_;
};

// The executable's build directory (soulboxd, soulbox-agent live there).
std::string daemon_build_dir();

// A sandbox's cgroup directory for `controller` ("pids", or "" on v2).
std::string sandbox_cgroup_dir(const std::string& controller, const std::string& id);

// Pids in a sandbox's cgroup (its agent and everything under it).
std::vector<pid_t> sandbox_pids(const std::string& id);

bool process_exists(pid_t pid);

}  // namespace soulbox::test
