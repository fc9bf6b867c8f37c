#include "tests/support/sandbox_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace soulbox::test {
namespace fs = std::filesystem;

namespace {

struct Env {
  std::string data;
  std::string build;
  std::unique_ptr<isolation::Runtime> rt;

  Env() {
    char tmpl[] = "/tmp/soulbox-test-XXXXXX";
    data = ::mkdtemp(tmpl);
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    build = fs::path(std::string(self, size_t(n))).parent_path().parent_path().string();
    isolation::RuntimeOptions o;
    o.data_dir = data;
    o.cgroup_parent = "soulbox-test";
    o.agent_path = build + "/soulbox-agent";
    auto r = isolation::Runtime::open(o);
    if (!r) throw std::runtime_error("Runtime::open: " + r.error().message);
    rt = std::move(*r);
  }
  ~Env() {
    rt.reset();
    std::error_code ec;
    fs::remove_all(data, ec);
  }
};

Env& env() {
  static Env e;
  return e;
}

}  // namespace

isolation::Runtime& runtime() {
  return *env().rt;
}
const std::string& data_dir() {
  return env().data;
}
const std::string& build_dir() {
  return env().build;
}

ProcessResult Box::run(const std::vector<std::string>& argv, uint32_t timeout_ms) {
  ProcessSpec spec;
  spec.argv = argv;
  auto r = client->run(spec, int(timeout_ms) + 10000);
  INFO("run " << argv[0] << ": " << (r ? "" : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

ProcessResult Box::sh(const std::string& script, uint32_t timeout_ms) {
  return run({"/bin/sh", "-c", script}, timeout_ms);
}

ProcessResult Box::as_root(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.user = "root";
  auto r = client->run(spec, 30000);
  REQUIRE(r.ok());
  return *r;
}

Box::Started Box::start(const std::vector<std::string>& argv) {
  ProcessSpec spec;
  spec.argv = argv;
  uint64_t id = 0;
  auto pid = client->start(spec, &id);
  INFO("start " << argv[0] << ": " << (pid ? "" : pid.error().message));
  REQUIRE(pid.ok());
  return Started{*pid, id};
}

Box make_box(isolation::SandboxSpec spec) {
  const std::string probes = build_dir() + "/tests/probes";
  if (fs::exists(probes)) spec.binds.push_back({probes, "/opt/probes", false});
  auto sb = runtime().create(spec);
  INFO("create: " << (sb ? "" : sb.error().message));
  REQUIRE(sb.ok());
  Box box{std::move(*sb), nullptr};
  box.client = std::make_unique<AgentClient>(box.sandbox->channel_fd());
  auto hello = box.client->handshake();
  REQUIRE(hello.ok());
  return box;
}

Leftovers leftovers_of(const std::string& id, uint32_t host_id_base) {
  Leftovers l;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) != 0) continue;
      std::istringstream in(line.substr(4));
      uint64_t real = 0;
      in >> real;
      if (real >= host_id_base && real < uint64_t(host_id_base) + isolation::kIdsPerSandbox)
        l.processes.push_back(name);
      break;
    }
  }
  std::error_code ec;
  for (const char* ctl : {"memory", "pids", "freezer", "cpu"}) {
    if (fs::exists(std::string("/sys/fs/cgroup/") + ctl + "/soulbox-test/" + id, ec)) l.cgroup_dir = true;
  }
  if (fs::exists("/sys/fs/cgroup/soulbox-test/" + id, ec)) l.cgroup_dir = true;
  l.scratch_dir = fs::exists(data_dir() + "/sandboxes/" + id, ec);
  return l;
}

bool clean(const Leftovers& l) {
  return l.processes.empty() && !l.cgroup_dir && !l.scratch_dir;
}

size_t host_mount_count() {
  std::ifstream in("/proc/self/mountinfo");
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

HostRun run_host(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int in[2], out[2], err[2];
  REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!stdin_data.empty()) (void)!::write(in[1], stdin_data.data(), stdin_data.size());
  ::close(in[1]);
  HostRun r;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, 60000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, size_t(n));
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace soulbox::test
