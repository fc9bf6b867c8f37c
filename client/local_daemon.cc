#include "client/local_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace soulbox::client {

namespace {

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

Result<LocalDaemon> start_local_daemon(const LocalDaemonOptions& o) {
  std::vector<std::string> argv = {o.binary, "--data-dir", o.root + "/data", "--run-dir", o.root + "/run"};
  argv.insert(argv.end(), o.args.begin(), o.args.end());
  const std::string log = o.root + "/soulboxd.out";
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    // A private node ends with whoever started it (SIGTERM: it ends its
    // sandboxes), so a test or benchmark that dies on an error leaves none
    // running. Checked again after the call: the parent may already be gone.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(125);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& kv : o.env) ::putenv(const_cast<char*>(kv.c_str()));
    if (o.open_file_limit) {
      const struct rlimit nofile { o.open_file_limit, o.open_file_limit };
      if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) ::_exit(126);
    }
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  const std::string ready = o.root + "/data/soulboxd.json";
  const std::string pid_field = "\"pid\": " + std::to_string(pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.ready_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(ready);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    if (text.find(pid_field) != std::string::npos) {
      auto address = read_ready_file(ready);
      if (address) return LocalDaemon{pid, *address};
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return Error{ErrorCode::unavailable, "soulboxd exited during start-up:\n" + tail_of(log)};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop_local_daemon(pid, 1000);
  return Error{ErrorCode::timeout, "soulboxd was not ready in time:\n" + tail_of(log)};
}

int stop_local_daemon(pid_t pid, int grace_ms) {
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int waited = 0; waited < grace_ms; waited += 20) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

}  // namespace soulbox::client
