#include "agent/sandbox_paths.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "agent/replies.h"

namespace soulbox::agent {

FsIdentity::FsIdentity(const UserIdentity& user) {
  ::setfsgid(user.gid);
  ::setfsuid(user.uid);
}

FsIdentity::~FsIdentity() {
  ::setfsuid(0);
  ::setfsgid(0);
}

Result<std::string> absolute_path(const std::string& path, const UserIdentity& user) {
  if (path.empty()) return Error{ErrorCode::invalid_argument, "path is empty"};
  if (path.find('\0') != std::string::npos) return Error{ErrorCode::invalid_argument, "path contains a NUL byte"};
  if (path.size() >= PATH_MAX) return Error{ErrorCode::invalid_argument, "path is longer than PATH_MAX"};
  return path[0] == '/' ? path : std::string(user.home) + "/" + path;
}

int open_in_root(const std::string& abs_path, int flags, mode_t mode) {
  static const int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct open_how how {};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return int(::syscall(SYS_openat2, root, abs_path.c_str(), &how, sizeof how));
}

Result<ParentAndName> open_parent(const std::string& abs_path) {
  std::string p = abs_path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  const std::string dir = slash == 0 ? "/" : p.substr(0, slash);
  std::string name = p.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    return Error{ErrorCode::invalid_argument, "path '" + abs_path + "' has no final name"};
  unique_fd parent(open_in_root(dir, O_PATH | O_DIRECTORY));
  if (!parent) return sys_error("open directory " + dir, errno, code_for_errno(errno));
  return ParentAndName{std::move(parent), std::move(name)};
}

Status make_dirs(const std::string& abs_path, mode_t mode) {
  size_t pos = 1;
  while (pos <= abs_path.size()) {
    size_t end = abs_path.find('/', pos);
    if (end == std::string::npos) end = abs_path.size();
    const std::string component = abs_path.substr(pos, end - pos);
    if (!component.empty() && component != "." && component != "..") {
      const std::string prefix = abs_path.substr(0, end);
      auto parent = open_parent(prefix);
      if (!parent) return parent.error();
      if (::mkdirat(parent->parent.get(), parent->name.c_str(), mode) != 0 && errno != EEXIST)
        return sys_error("mkdir " + prefix, errno, code_for_errno(errno));
    }
    pos = end + 1;
  }
  unique_fd check(open_in_root(abs_path, O_PATH | O_DIRECTORY));
  if (!check) return sys_error("mkdir " + abs_path, errno, code_for_errno(errno));
  return {};
}

}  // namespace soulbox::agent
