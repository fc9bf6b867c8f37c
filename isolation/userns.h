// User namespaces: each sandbox maps its uids 0..65535 onto a host range of
// its own, so per-uid kernel limits (RLIMIT_NPROC, keys) and file ownership
// never leak between sandboxes or onto real host users.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::isolation {

inline constexpr uint32_t kIdsPerSandbox = 65536;
inline constexpr uint32_t kSandboxUser = 1000;  // uid and gid of `user` inside

// The host ids sandboxes get: kIdSlots ranges of kIdsPerSandbox from
// kFirstHostId up to kHostIdEnd (docs/density.md). Above Debian's and
// shadow's default subordinate ids (login.defs SUB_UID_MAX = 600100000, so
// useradd never hands these out); below systemd's foreign range
// (0x7FFE0000) and 2^31, past which tools that read ids as signed break.
inline constexpr uint32_t kFirstHostId = 0x24000000;                                // 603979776
inline constexpr uint32_t kHostIdEnd = 0x7FFE0000;                                  // 2147352576
inline constexpr uint32_t kIdSlots = (kHostIdEnd - kFirstHostId) / kIdsPerSandbox;  // 23550

// Ids someone else owns, e.g. an /etc/subuid entry: [first, first + count).
struct HostIdRange {
  uint64_t first = 0;
  uint64_t count = 0;
};

// The ranges of /etc/subuid-style text ("owner:first:count" lines; others
// are skipped).
std::vector<HostIdRange> parse_subordinate_ids(const std::string& text);
// Both /etc/subuid and /etc/subgid under `etc_dir` (missing files: none).
std::vector<HostIdRange> read_subordinate_ids(const std::string& etc_dir = "/etc");

// Which slots of the layout overlap none of `reserved`.
std::vector<bool> usable_slots(uint32_t first_host_id, uint32_t slots, const std::vector<HostIdRange>& reserved);
// SoulBox's layout against this host's /etc/subuid and /etc/subgid.
uint32_t usable_id_slots(const std::string& etc_dir = "/etc");

// The lease on one slot: an flock held on <lock_dir>/<slot>, so several
// processes (daemon, CLI, tests) can allocate concurrently; a process that
// dies lets go of its leases with its file descriptors. Released (reset or
// destroyed), the file is removed while still locked, so the directory holds
// only live leases (about 1 KiB of kernel memory each on tmpfs).
class IdLease {
 public:
  struct Table;  // the slots this process holds (shared with its allocator)
  IdLease() = default;
  IdLease(std::shared_ptr<Table> table, uint32_t slot, std::string path, unique_fd fd);
  IdLease(IdLease&&) noexcept = default;
  IdLease& operator=(IdLease&& other) noexcept;
  ~IdLease() { reset(); }
  void reset();
  explicit operator bool() const { return bool(fd_); }

 private:
  std::shared_ptr<Table> table_;
  uint32_t slot_ = 0;
  std::string path_;
  unique_fd fd_;
};

// A leased host id range.
struct IdRange {
  uint32_t host_base = 0;
  IdLease lease;
};

class IdRangeAllocator {
 public:
  // `lock_dir` holds one lock file per leased slot (e.g. /run/soulbox/id-slots);
  // slots overlapping `reserved` are never handed out.
  IdRangeAllocator(std::string lock_dir, uint32_t first_host_id, uint32_t slots,
                   const std::vector<HostIdRange>& reserved = {});
  Result<IdRange> acquire();  // thread-safe

 private:
  std::string lock_dir_;
  uint32_t first_host_id_;
  uint32_t slots_;
  std::shared_ptr<IdLease::Table> table_;
};

// Writes "0 <base> 65536" to /proc/<pid>/{uid,gid}_map of a child that waits
// in the launcher handshake (so its pid cannot be reused meanwhile).
Status write_id_maps(pid_t pid, uint32_t host_base);

}  // namespace soulbox::isolation
