// Path handling for the file API. The agent already lives inside the
// sandbox's root (pivot_root), and every lookup additionally goes through
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): `..`, absolute symlinks
// and /proc magic links all stay inside the sandbox.
#pragma once
#include <sys/types.h>

#include <string>

#include "agent/users.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::agent {

// Runs file operations with the file-system ids of a sandbox user, so
// permissions and new files' owners are that user's.
class FsIdentity {
 public:
  explicit FsIdentity(const UserIdentity& user);
  ~FsIdentity();
  FsIdentity(const FsIdentity&) = delete;
  FsIdentity& operator=(const FsIdentity&) = delete;
};

// "" is invalid; relative paths are relative to the user's home. Rejects NUL
// bytes and paths over PATH_MAX.
Result<std::string> absolute_path(const std::string& path, const UserIdentity& user);

// openat2 relative to the sandbox root with RESOLVE_IN_ROOT|NO_MAGICLINKS.
int open_in_root(const std::string& abs_path, int flags, mode_t mode = 0);

struct ParentAndName {
  unique_fd parent;  // O_PATH directory fd
  std::string name;  // final component, never "", "." or ".."
};
Result<ParentAndName> open_parent(const std::string& abs_path);

// mkdir -p; existing directories are fine.
Status make_dirs(const std::string& abs_path, mode_t mode);

}  // namespace soulbox::agent
