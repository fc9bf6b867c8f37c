#include "isolation/userns.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <random>

#include "isolation/fs_util.h"

namespace soulbox::isolation {

IdRangeAllocator::IdRangeAllocator(std::string lock_dir, uint32_t first_host_id, uint32_t slots)
    : lock_dir_(std::move(lock_dir)), first_host_id_(first_host_id), slots_(slots) {
  // Start at a random slot so concurrent processes rarely probe the same files.
  next_ = std::random_device{}() % slots_;
}

Result<IdRange> IdRangeAllocator::acquire() {
  if (auto st = ensure_dir(lock_dir_, 0700); !st) return st.error();
  for (uint32_t tries = 0; tries < slots_; ++tries) {
    const uint32_t slot = next_;
    next_ = (next_ + 1) % slots_;
    const std::string path = lock_dir_ + "/" + std::to_string(slot);
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return sys_error("open id slot " + path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;
      return sys_error("flock " + path);
    }
    return IdRange{first_host_id_ + slot * kIdsPerSandbox, std::move(fd)};
  }
  return Error{ErrorCode::resource_exhausted, "all " + std::to_string(slots_) + " sandbox id ranges are in use"};
}

Status write_id_maps(pid_t pid, uint32_t host_base) {
  const std::string map = "0 " + std::to_string(host_base) + " " + std::to_string(kIdsPerSandbox) + "\n";
  const std::string proc = "/proc/" + std::to_string(pid);
  if (auto st = write_control(proc + "/uid_map", map); !st) return st;
  return write_control(proc + "/gid_map", map);
}

}  // namespace soulbox::isolation
