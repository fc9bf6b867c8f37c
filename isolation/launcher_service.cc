#include "isolation/launcher_service.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "isolation/fd_passing.h"

namespace soulbox::isolation {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxMessage = 64 * 1024;

Status send_message(int sock, const std::string& data, int fd_a = -1, int fd_b = -1) {
  return send_with_fds(sock, data, fd_a, fd_b);
}

Result<std::string> receive_message(int sock, unique_fd* fd_a, unique_fd* fd_b) {
  auto r = receive_with_fds(sock, kMaxMessage, /*nonblocking=*/false, fd_a, fd_b);
  if (!r) return Error{ErrorCode::unavailable, "the launcher process is gone"};
  return r;
}

json error_json(const Error& e) {
  return {{"ok", false}, {"code", int(e.code)}, {"message", e.message}};
}

Error error_from_json(const json& j) {
  return Error{ErrorCode(j.value("code", int(ErrorCode::internal))), j.value("message", std::string("launcher error"))};
}

SandboxSpec spec_from_json(const json& j) {
  SandboxSpec s;
  s.id = j.value("id", "");
  s.template_name = j.value("template", "base");
  s.hostname = j.value("hostname", "soulbox");
  const json& l = j.value("limits", json::object());
  s.limits.memory_bytes = l.value("memory_bytes", s.limits.memory_bytes);
  s.limits.cpus = l.value("cpus", s.limits.cpus);
  s.limits.pids = l.value("pids", s.limits.pids);
  s.limits.disk_bytes = l.value("disk_bytes", s.limits.disk_bytes);
  s.limits.disk_inodes = l.value("disk_inodes", s.limits.disk_inodes);
  s.limits.tmp_bytes = l.value("tmp_bytes", s.limits.tmp_bytes);
  s.limits.tmp_inodes = l.value("tmp_inodes", s.limits.tmp_inodes);
  s.limits.ptys = l.value("ptys", s.limits.ptys);
  s.limits.nofile = l.value("nofile", s.limits.nofile);
  s.limits.fsize_bytes = l.value("fsize_bytes", s.limits.fsize_bytes);
  for (const auto& b : j.value("binds", json::array()))
    s.binds.push_back({b.value("host", ""), b.value("sandbox", ""), b.value("writable", false)});
  return s;
}

json spec_to_json(const SandboxSpec& s) {
  json binds = json::array();
  for (const auto& b : s.binds)
    binds.push_back({{"host", b.host_path}, {"sandbox", b.sandbox_path}, {"writable", b.writable}});
  const Limits& l = s.limits;
  return {{"id", s.id},
          {"template", s.template_name},
          {"hostname", s.hostname},
          {"binds", binds},
          {"limits",
           {{"memory_bytes", l.memory_bytes},
            {"cpus", l.cpus},
            {"pids", l.pids},
            {"disk_bytes", l.disk_bytes},
            {"disk_inodes", l.disk_inodes},
            {"tmp_bytes", l.tmp_bytes},
            {"tmp_inodes", l.tmp_inodes},
            {"ptys", l.ptys},
            {"nofile", l.nofile},
            {"fsize_bytes", l.fsize_bytes}}}};
}

// The launcher process: serves requests until the daemon closes the socket.
class Launcher {
 public:
  Launcher(Runtime& runtime, int sock) : runtime_(runtime), sock_(sock) {}

  void serve() {
    for (;;) {
      auto request = receive_message(sock_, nullptr, nullptr);
      if (!request) break;
      const json req = json::parse(*request, nullptr, false);
      if (!req.is_object()) {
        (void)send_message(sock_, error_json({ErrorCode::protocol_error, "malformed launcher request"}).dump());
        continue;
      }
      handle(req);
    }
    sandboxes_.clear();  // destroys every sandbox
  }

 private:
  void handle(const json& req) {
    const std::string op = req.value("op", "");
    const std::string id = req.value("id", "");
    if (op == "create") return create(req.value("spec", json::object()));
    auto it = sandboxes_.find(id);
    if (it == sandboxes_.end()) return reply_error({ErrorCode::not_found, "no sandbox '" + id + "'"});
    Sandbox& sb = *it->second;
    Status st;
    if (op == "destroy") {
      st = sb.destroy();
      sandboxes_.erase(it);
    } else if (op == "freeze") {
      st = sb.cgroup().freeze();
    } else if (op == "thaw") {
      st = sb.cgroup().thaw();
    } else if (op == "usage") {
      auto u = sb.cgroup().usage();
      if (!u) return reply_error(u.error());
      return reply({{"ok", true},
                    {"memory_current", u->memory_current},
                    {"memory_peak", u->memory_peak},
                    {"cpu_usec", u->cpu_usec},
                    {"pids_current", u->pids_current},
                    {"oom_kills", u->oom_kills},
                    {"io_read_bytes", u->io_read_bytes},
                    {"io_write_bytes", u->io_write_bytes}});
    } else {
      return reply_error({ErrorCode::invalid_argument, "unknown launcher op '" + op + "'"});
    }
    if (!st) return reply_error(st.error());
    reply({{"ok", true}});
  }

  void create(const json& spec) {
    auto sb = runtime_.create(spec_from_json(spec));
    if (!sb) return reply_error(sb.error());
    Sandbox& s = **sb;
    // The daemon gets the channel; the launcher keeps no copy, so the agent
    // sees EOF exactly when the daemon lets go of it.
    unique_fd channel = s.release_channel();
    unique_fd pidfd(::fcntl(s.pidfd(), F_DUPFD_CLOEXEC, 0));
    const json r = {{"ok", true}, {"id", s.id()}, {"agent_pid", s.agent_pid()}, {"host_id_base", s.host_id_base()}};
    const std::string id = s.id();
    sandboxes_[id] = std::move(*sb);
    if (!send_message(sock_, r.dump(), channel.get(), pidfd.get())) sandboxes_.erase(id);
  }

  void reply(const json& r) { (void)send_message(sock_, r.dump()); }
  void reply_error(const Error& e) { reply(error_json(e)); }

  Runtime& runtime_;
  int sock_;
  std::map<std::string, std::unique_ptr<Sandbox>> sandboxes_;
};

}  // namespace

Result<std::unique_ptr<LauncherClient>> LauncherClient::spawn(const RuntimeOptions& options) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return sys_error("socketpair");
  // Open the runtime in the child, so its helpers (netns pool) belong to it;
  // report a failure to open as the answer to a first "hello".
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork launcher");
  if (pid == 0) {
    ::close(pair[0]);
    // No PDEATHSIG: when the daemon dies its end of the socket closes and
    // serve() destroys every sandbox (a signal would kill us before that and
    // leave cgroups and scratch dirs behind). Our own process group keeps a
    // terminal's Ctrl-C, meant for the daemon, away from us.
    ::setpgid(0, 0);
    ::prctl(PR_SET_NAME, "soulbox-launch");
    auto runtime = Runtime::open(options);
    if (!runtime) {
      (void)send_message(pair[1], error_json(runtime.error()).dump());
      ::_exit(1);
    }
    (void)send_message(pair[1], json{{"ok", true}}.dump());
    Launcher(**runtime, pair[1]).serve();
    runtime->reset();
    ::_exit(0);
  }
  ::close(pair[1]);
  std::unique_ptr<LauncherClient> client(new LauncherClient(pid, unique_fd(pair[0])));
  auto hello = receive_message(client->socket_.get(), nullptr, nullptr);
  if (!hello) return hello.error();
  const json j = json::parse(*hello, nullptr, false);
  if (!j.is_object() || !j.value("ok", false))
    return j.is_object() ? error_from_json(j) : Error{ErrorCode::internal, "bad launcher hello"};
  return client;
}

LauncherClient::~LauncherClient() {
  socket_.reset();
  ::waitpid(pid_, nullptr, 0);
}

Result<std::string> LauncherClient::call(const std::string& request, unique_fd* fd_a, unique_fd* fd_b) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto st = send_message(socket_.get(), request); !st) return st.error();
  return receive_message(socket_.get(), fd_a, fd_b);
}

Result<RemoteSandbox> LauncherClient::create(const SandboxSpec& spec) {
  if (auto st = validate_spec(spec); !st) return st.error();
  RemoteSandbox out;
  auto reply = call(json{{"op", "create"}, {"spec", spec_to_json(spec)}}.dump(), &out.channel, &out.pidfd);
  if (!reply) return reply.error();
  const json j = json::parse(*reply, nullptr, false);
  if (!j.is_object() || !j.value("ok", false))
    return j.is_object() ? error_from_json(j) : Error{ErrorCode::internal, "bad launcher reply"};
  if (!out.channel || !out.pidfd) return Error{ErrorCode::internal, "the launcher sent no sandbox fds"};
  out.id = j.value("id", "");
  out.agent_pid = j.value("agent_pid", -1);
  out.host_id_base = j.value("host_id_base", 0u);
  return out;
}

namespace {
Status simple_status(const Result<std::string>& reply) {
  if (!reply) return reply.error();
  const json j = json::parse(*reply, nullptr, false);
  if (!j.is_object() || !j.value("ok", false))
    return j.is_object() ? error_from_json(j) : Error{ErrorCode::internal, "bad launcher reply"};
  return {};
}
}  // namespace

Status LauncherClient::destroy(const std::string& id) {
  return simple_status(call(json{{"op", "destroy"}, {"id", id}}.dump()));
}
Status LauncherClient::freeze(const std::string& id) {
  return simple_status(call(json{{"op", "freeze"}, {"id", id}}.dump()));
}
Status LauncherClient::thaw(const std::string& id) {
  return simple_status(call(json{{"op", "thaw"}, {"id", id}}.dump()));
}

Result<CgroupUsage> LauncherClient::usage(const std::string& id) {
  auto reply = call(json{{"op", "usage"}, {"id", id}}.dump());
  if (auto st = simple_status(reply); !st) return st.error();
  const json j = json::parse(reply.value());
  CgroupUsage u;
  u.memory_current = j.value("memory_current", uint64_t(0));
  u.memory_peak = j.value("memory_peak", uint64_t(0));
  u.cpu_usec = j.value("cpu_usec", uint64_t(0));
  u.pids_current = j.value("pids_current", uint64_t(0));
  u.oom_kills = j.value("oom_kills", uint64_t(0));
  u.io_read_bytes = j.value("io_read_bytes", uint64_t(0));
  u.io_write_bytes = j.value("io_write_bytes", uint64_t(0));
  return u;
}

}  // namespace soulbox::isolation
