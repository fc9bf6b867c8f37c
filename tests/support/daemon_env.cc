#include "tests/support/daemon_env.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "client/local_daemon.h"

namespace soulbox::test {
namespace fs = std::filesystem;

namespace {

bool cgroup_v2() {
  return fs::exists("/sys/fs/cgroup/cgroup.controllers");
}

}  // namespace

std::string daemon_build_dir() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return fs::path(std::string(self, size_t(n))).parent_path().parent_path().string();
}

Daemon::Daemon(std::vector<std::string> args, std::string root, std::vector<std::string> env, uint64_t open_file_limit)
    : root_(std::move(root)) {
  if (root_.empty()) {
    char tmpl[] = "/tmp/soulbox-test-daemon-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    // Sandbox roots (mapped to unprivileged host ids) must traverse it to reach data/.
    ::chmod(root_.c_str(), 0755);
  }
  client::LocalDaemonOptions o;
  o.binary = daemon_build_dir() + "/soulboxd";
  o.root = root_;
  if (std::find(args.begin(), args.end(), "--cgroup-parent") == args.end())
    o.args = {"--cgroup-parent", "soulbox-test"};
  if (std::find(args.begin(), args.end(), "--node-id") == args.end())
    o.args.insert(o.args.end(), {"--node-id", "testnode"});
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.env = {"SOULBOX_LOG=info"};
  o.env.insert(o.env.end(), env.begin(), env.end());
  o.open_file_limit = open_file_limit;
  auto started = client::start_local_daemon(o);
  INFO((started ? "" : started.error().message));
  REQUIRE(started.ok());
  pid_ = started->pid;
  node_ = started->address.node;
  address_ = started->address;
  auto c = client::Client::connect(started->address.connect);
  REQUIRE(c.ok());
  client_ = std::move(*c);
}

Daemon::~Daemon() {
  client_.reset();
  if (pid_ > 0) stop();
  if (keep_root) return;
  // After kill9() the daemon's launcher and sandboxes end on their own, a
  // moment later: their mounts and files may still be going.
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::error_code ec;
    fs::remove_all(root_, ec);
    if (!ec && !fs::exists(root_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string Daemon::output() const {
  std::ifstream in(root_ + "/soulboxd.out");
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

bool Daemon::wait_killed(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      client_.reset();
      pid_ = -1;
      return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Daemon::kill9() {
  client_.reset();
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int Daemon::stop() {
  client_.reset();
  const int status = client::stop_local_daemon(pid_);
  pid_ = -1;
  return status;
}

std::string sandbox_cgroup_dir(const std::string& controller, const std::string& id) {
  if (cgroup_v2()) return "/sys/fs/cgroup/soulbox-test/" + id;
  return "/sys/fs/cgroup/" + controller + "/soulbox-test/" + id;
}

std::vector<pid_t> sandbox_pids(const std::string& id) {
  std::ifstream in(sandbox_cgroup_dir("pids", id) + "/cgroup.procs");
  std::vector<pid_t> out;
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

bool process_exists(pid_t pid) {
  // A zombie is gone for our purposes: it holds no resources.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

}  // namespace soulbox::test
