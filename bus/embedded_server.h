// The embedded default: a nats-server child that soulboxd starts when no
// --nats URL is given. JetStream on, loopback only, a free port, its store
// under the data dir, a generated user and password in a 0600 config file
// (not on the command line, where any local user could read it).
#pragma once
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "bus/bus_roles.h"
#include "common/result.h"

namespace soulbox::bus {

struct EmbeddedServerOptions {
  std::string dir;            // config, log and JetStream store live here
  std::string server_binary;  // empty: $SOULBOX_NATS_SERVER or /usr/sbin/nats-server
  int ready_timeout_ms = 10000;
};

struct BusCredentials {
  std::string user, password, inbox_prefix;
};

class EmbeddedServer {
 public:
  // What survives a restart (<dir>/identity.json, mode 0600): the port and
  // each role's password, so clients reconnect to a restarted node.
  struct Identity {
    int port = 0;
    std::map<std::string, std::string> passwords;  // by role name
  };

  static Result<std::unique_ptr<EmbeddedServer>> start(const EmbeddedServerOptions& options);
  ~EmbeddedServer();  // stops the server (SIGTERM, then SIGKILL after 5 s)

  std::string url() const;
  // Each role's user (soulbox-node, soulbox-gateway, soulbox-publisher).
  BusCredentials credentials(BusRole role) const;
  std::string user() const { return credentials(BusRole::node).user; }
  std::string password() const { return credentials(BusRole::node).password; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }

  // Restarts the server on the same port if it has died; true if it did.
  Result<bool> ensure_running();

 private:
  EmbeddedServer() = default;
  Status write_config() const;
  Status launch();
  Status wait_ready();

  EmbeddedServerOptions options_;
  std::string binary_, config_, log_;
  Identity identity_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace soulbox::bus
