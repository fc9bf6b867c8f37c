#include "agent/process_env.h"

#include <sys/stat.h>

#include <algorithm>

namespace soulbox::agent {
namespace {
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}  // namespace

std::vector<std::string> default_env(const UserIdentity& user, bool pty) {
  std::vector<std::string> env = {std::string("PATH=") + kDefaultPath,
                                  std::string("HOME=") + user.home,
                                  std::string("USER=") + user.name,
                                  std::string("LOGNAME=") + user.name,
                                  "SHELL=/bin/bash",
                                  "LANG=C.UTF-8"};
  if (pty) env.push_back("TERM=xterm-256color");
  return env;
}

void apply_env(std::vector<std::string>& env, const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string key = entry.substr(0, eq + 1);
    env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(key, 0) == 0; }),
              env.end());
    env.push_back(entry);
  }
}

std::string resolve_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = kDefaultPath;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string candidate = path.substr(start, end - start) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return candidate;
    start = end + 1;
  }
  return {};
}

}  // namespace soulbox::agent
