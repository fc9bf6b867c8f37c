#include "bench/peers.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace soulbox::bench {
namespace {
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}
}  // namespace

int spawn_wait(const std::vector<std::string>& argv) {
  auto args = c_argv(argv);
  char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), envp) != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

pid_t spawn_in_cgroup(const std::vector<std::string>& argv, const std::string& cgroup_procs) {
  auto args = c_argv(argv);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(cgroup_procs.c_str(), O_WRONLY);
  if (fd >= 0) {
    (void)!::write(fd, "0", 1);
    ::close(fd);
  }
  const int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(devnull, 0);
  ::dup2(devnull, 1);
  ::execv(args[0], args.data());
  ::_exit(127);
}

std::vector<std::string> bwrap_argv(const std::vector<std::string>& command) {
  std::vector<std::string> argv = {
      "/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/usr",   "/usr",      "--symlink", "usr/lib",
      "/lib",           "--symlink",     "usr/lib64", "/lib64", "--symlink", "usr/bin",   "/bin",
      "--proc",         "/proc",         "--dev",     "/dev",   "--tmpfs",   "/tmp",      "--die-with-parent"};
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

bool have_bwrap() {
  return ::access("/usr/bin/bwrap", X_OK) == 0;
}

}  // namespace soulbox::bench
