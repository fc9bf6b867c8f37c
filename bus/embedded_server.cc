#include "bus/embedded_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bus/loopback_port.h"
#include "common/hex.h"
#include "common/json_fields.h"
#include "common/log.h"

namespace soulbox::bus {
namespace {

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (::getrandom(raw.data(), bytes, 0) != ssize_t(bytes)) return {};
  return hex_encode(raw);
}

off_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// True when what the server logged from `from` on says its port was taken (by
// whoever bound it between our check and the server's own bind).
bool log_says_port_taken(const std::string& log, off_t from) {
  std::ifstream in(log);
  in.seekg(from);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find("address already in use") != std::string::npos;
}

Status save_identity(const std::string& path, const EmbeddedServer::Identity& id) {
  nlohmann::json passwords = nlohmann::json::object();
  for (const auto& [role, password] : id.passwords) passwords[role] = password;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out || ::chmod(tmp.c_str(), 0600) != 0) return sys_error("write " + tmp);
    out << nlohmann::json{{"port", id.port}, {"passwords", passwords}}.dump(2) << "\n";
    if (!out) return sys_error("write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("rename " + tmp);
  return {};
}

// The last run's server may still be shutting down (it gets SIGTERM when its
// parent dies): its port is worth a short wait.
bool port_frees_up(int port) {
  for (int i = 0; i < 100; ++i) {
    if (!port_accepts(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Reads identity.json, or makes a new identity (no port yet) when there is
// none. A password missing for a role (a file from an older version) is made.
Result<EmbeddedServer::Identity> load_or_create_identity(const std::string& path) {
  EmbeddedServer::Identity id;
  std::ifstream in(path);
  if (in) {
    const auto j = nlohmann::json::parse(in, nullptr, false);
    JsonFields f(j, path);
    uint32_t port = 0;
    f.read("port", port);
    const nlohmann::json* passwords = f.object("passwords");
    if (!f.ok()) return Error{ErrorCode::protocol_error, f.status().error().message + " (remove it to start anew)"};
    id.port = int(port);
    for (BusRole role : kAllRoles) {
      if (!passwords) break;
      JsonFields p(*passwords, path);
      std::string password;
      p.read(role_name(role), password);
      if (p.ok() && password.size() >= 32) id.passwords[role_name(role)] = password;
    }
  }
  bool changed = !in;
  for (BusRole role : kAllRoles) {
    if (id.passwords.count(role_name(role))) continue;
    auto password = random_hex(24);
    if (password.empty()) return sys_error("getrandom");
    id.passwords[role_name(role)] = password;
    changed = true;
  }
  if (changed)
    if (auto saved = save_identity(path, id); !saved) return saved.error();
  return id;
}

}  // namespace

Result<std::unique_ptr<EmbeddedServer>> EmbeddedServer::start(const EmbeddedServerOptions& options) {
  std::unique_ptr<EmbeddedServer> s(new EmbeddedServer());
  s->options_ = options;
  const char* env = std::getenv("SOULBOX_NATS_SERVER");
  s->binary_ = !options.server_binary.empty() ? options.server_binary : env ? env : "/usr/sbin/nats-server";
  if (::access(s->binary_.c_str(), X_OK) != 0)
    return Error{ErrorCode::unavailable, "nats-server not found at " + s->binary_ +
                                             " (apt-get install nats-server, or set SOULBOX_NATS_SERVER)"};
  if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + options.dir);
  s->config_ = options.dir + "/nats-server.conf";
  s->log_ = options.dir + "/nats-server.log";
  // The port and passwords of the last run, so that clients of a restarted
  // node reconnect on their own.
  auto kept = load_or_create_identity(options.dir + "/identity.json");
  if (!kept) return kept.error();
  s->identity_ = std::move(*kept);
  for (int attempt = 1;; ++attempt) {
    const bool keep_port = attempt == 1 && s->identity_.port != 0 && port_frees_up(s->identity_.port);
    if (!keep_port) {
      auto port = pick_loopback_port();
      if (!port) return port.error();
      if (attempt == 1 && s->identity_.port != 0)
        logger("bus")->warn("nats-server's port {} is taken; using {} (clients of the last run must reconnect)",
                            s->identity_.port, *port);
      s->identity_.port = *port;
      if (auto saved = save_identity(options.dir + "/identity.json", s->identity_); !saved) return saved.error();
    }
    s->port_ = s->identity_.port;
    if (auto st = s->write_config(); !st) return st.error();
    const off_t logged = file_size(s->log_);
    auto launched = s->launch();
    if (launched) break;
    const bool exited = s->pid_ < 0;
    if (attempt == 3 || !exited || !log_says_port_taken(s->log_, logged)) return launched.error();
    logger("bus")->warn("nats-server's port {} was taken before it could bind it; choosing another", s->port_);
  }
  return s;
}

Status EmbeddedServer::write_config() const {
  // Quoted values: passwords are hex, the store path was created above.
  std::ofstream conf(config_, std::ios::trunc);
  conf << "listen: \"127.0.0.1:" << port_ << "\"\n"
       << "authorization { users: [\n";
  for (BusRole role : kAllRoles) {
    const auto c = credentials(role);
    conf << "  { user: \"" << c.user << "\", password: \"" << c.password << "\", " << role_permissions(role) << " }\n";
  }
  conf << "] }\n"
       << "jetstream { store_dir: \"" << options_.dir << "/jetstream\" }\n"
       << "max_payload: 8MB\n";
  conf.close();
  if (!conf || ::chmod(config_.c_str(), 0600) != 0) return sys_error("write " + config_);
  return {};
}

Status EmbeddedServer::launch() {
  const int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return sys_error("open " + log_);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork nats-server");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the daemon
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execl(binary_.c_str(), binary_.c_str(), "-c", config_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(log);
  pid_ = pid;
  return wait_ready();
}

Status EmbeddedServer::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.ready_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Error{ErrorCode::unavailable, "nats-server exited during start-up; see " + log_};
    }
    if (port_accepts(port_)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Error{ErrorCode::timeout, "nats-server did not listen on 127.0.0.1:" + std::to_string(port_) + " within " +
                                       std::to_string(options_.ready_timeout_ms) + " ms; see " + log_};
}

Result<bool> EmbeddedServer::ensure_running() {
  if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0) return false;
  logger("bus")->warn("nats-server (pid {}) died; restarting it on port {}", pid_, port_);
  pid_ = -1;
  if (auto st = launch(); !st) return st.error();
  return true;
}

BusCredentials EmbeddedServer::credentials(BusRole role) const {
  return BusCredentials{std::string("soulbox-") + role_name(role), identity_.passwords.at(role_name(role)),
                        role_inbox_prefix(role)};
}

std::string EmbeddedServer::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

EmbeddedServer::~EmbeddedServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

}  // namespace soulbox::bus
