#include "tests/support/daemon_env.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace soulbox::test {
namespace fs = std::filesystem;

namespace {

bool cgroup_v2() {
  return fs::exists("/sys/fs/cgroup/cgroup.controllers");
}

// The node is ready when its ready file names this pid.
bool wait_ready(const std::string& file, pid_t pid, client::NodeAddress* out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (text.find("\"pid\": " + std::to_string(pid)) != std::string::npos) {
      auto a = client::read_ready_file(file);
      if (a) {
        *out = *a;
        return true;
      }
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // it died
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

std::string daemon_build_dir() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return fs::path(std::string(self, size_t(n))).parent_path().parent_path().string();
}

Daemon::Daemon(std::vector<std::string> args, std::string root) : root_(std::move(root)) {
  if (root_.empty()) {
    char tmpl[] = "/tmp/soulbox-test-daemon-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    // Sandbox roots (mapped to unprivileged host ids) must traverse it to reach data/.
    ::chmod(root_.c_str(), 0755);
  }
  std::vector<std::string> argv = {daemon_build_dir() + "/soulboxd",
                                   "--data-dir",
                                   data_dir(),
                                   "--run-dir",
                                   root_ + "/run",
                                   "--cgroup-parent",
                                   "soulbox-test",
                                   "--node-id",
                                   "testnode"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = root_ + "/soulboxd.out";
  std::fflush(nullptr);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setenv("SOULBOX_LOG", "info", 1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  client::NodeAddress address;
  const bool ready = wait_ready(data_dir() + "/soulboxd.json", pid_, &address);
  INFO(output());
  REQUIRE(ready);
  node_ = address.node;
  auto c = client::Client::connect(address.connect);
  REQUIRE(c.ok());
  client_ = std::move(*c);
}

Daemon::~Daemon() {
  client_.reset();
  if (pid_ > 0) stop();
  if (!keep_root) {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
}

std::string Daemon::output() const {
  std::ifstream in(root_ + "/soulboxd.out");
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void Daemon::kill9() {
  client_.reset();
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int Daemon::stop() {
  client_.reset();
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return -1;
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
