#include "isolation/userns.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <random>
#include <sstream>

#include "isolation/fs_util.h"

namespace soulbox::isolation {

struct IdLease::Table {
  std::mutex mu;
  std::vector<bool> usable;  // overlaps no reserved range
  std::vector<bool> held;    // leased by this process
  uint32_t next = 0;
};

std::vector<HostIdRange> parse_subordinate_ids(const std::string& text) {
  std::vector<HostIdRange> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    try {
      size_t used1 = 0, used2 = 0;
      const std::string first = line.substr(a + 1, b - a - 1), count = line.substr(b + 1);
      if (first.empty() || count.empty() || !std::isdigit(uint8_t(first[0])) || !std::isdigit(uint8_t(count[0])))
        continue;  // stoull would take " 5" and "-5"
      HostIdRange r{std::stoull(first, &used1), std::stoull(count, &used2)};
      if (used1 == first.size() && used2 == count.size() && r.count) out.push_back(r);
    } catch (const std::exception&) {  // not numbers: skipped, like shadow does
    }
  }
  return out;
}

std::vector<HostIdRange> read_subordinate_ids(const std::string& etc_dir) {
  std::vector<HostIdRange> out;
  for (const char* name : {"/subuid", "/subgid"})
    if (auto text = read_small_file(etc_dir + name)) {
      auto ranges = parse_subordinate_ids(*text);
      out.insert(out.end(), ranges.begin(), ranges.end());
    }
  return out;
}

std::vector<bool> usable_slots(uint32_t first_host_id, uint32_t slots, const std::vector<HostIdRange>& reserved) {
  std::vector<bool> usable(slots, true);
  const uint64_t begin = first_host_id, end = begin + uint64_t(slots) * kIdsPerSandbox;
  for (const HostIdRange& r : reserved) {
    const uint64_t lo = std::max(begin, r.first), hi = std::min(end, r.first + r.count);
    if (lo >= hi) continue;
    for (uint64_t s = (lo - begin) / kIdsPerSandbox; s <= (hi - 1 - begin) / kIdsPerSandbox; ++s) usable[s] = false;
  }
  return usable;
}

uint32_t usable_id_slots(const std::string& etc_dir) {
  const auto usable = usable_slots(kFirstHostId, kIdSlots, read_subordinate_ids(etc_dir));
  return uint32_t(std::count(usable.begin(), usable.end(), true));
}

IdLease::IdLease(std::shared_ptr<Table> table, uint32_t slot, std::string path, unique_fd fd)
    : table_(std::move(table)), slot_(slot), path_(std::move(path)), fd_(std::move(fd)) {}

IdLease& IdLease::operator=(IdLease&& other) noexcept {
  if (this != &other) {
    reset();
    table_ = std::move(other.table_);
    slot_ = other.slot_;
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

void IdLease::reset() {
  if (!fd_) return;
  // Unlinked while locked: whoever opened this file meanwhile finds, once it
  // gets the lock, that the path no longer names it (see acquire).
  ::unlink(path_.c_str());
  fd_.reset();
  std::lock_guard<std::mutex> lock(table_->mu);
  table_->held[slot_] = false;
}

namespace {

// After the lock: is the locked file still the slot's? Its previous holder
// removes it on release, and a lock on a removed file leases nothing.
bool still_linked(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_nlink > 0;
}

}  // namespace

IdRangeAllocator::IdRangeAllocator(std::string lock_dir, uint32_t first_host_id, uint32_t slots,
                                   const std::vector<HostIdRange>& reserved)
    : lock_dir_(std::move(lock_dir)),
      first_host_id_(first_host_id),
      slots_(slots),
      table_(std::make_shared<IdLease::Table>()) {
  table_->usable = usable_slots(first_host_id, slots, reserved);
  table_->held.assign(slots, false);
  // Start at a random slot so concurrent processes rarely probe the same files.
  table_->next = slots ? std::random_device{}() % slots : 0;
}

Result<IdRange> IdRangeAllocator::acquire() {
  std::lock_guard<std::mutex> lock(table_->mu);
  IdLease::Table& t = *table_;
  // Slots this process holds or may not use cost no system call.
  for (uint32_t tries = 0; tries < slots_; ++tries) {
    const uint32_t slot = t.next;
    t.next = (t.next + 1) % slots_;
    if (!t.usable[slot] || t.held[slot]) continue;
    const std::string path = lock_dir_ + "/" + std::to_string(slot);
    unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd && errno == ENOENT) {  // the first lease (or someone removed the directory)
      if (auto st = ensure_dir(lock_dir_, 0700); !st) return st.error();
      fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    }
    if (!fd) return sys_error("open id slot " + path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;
      return sys_error("flock " + path);
    }
    if (!still_linked(fd.get())) continue;
    t.held[slot] = true;
    return IdRange{first_host_id_ + slot * kIdsPerSandbox, IdLease(table_, slot, path, std::move(fd))};
  }
  const auto usable = std::count(t.usable.begin(), t.usable.end(), true);
  return Error{ErrorCode::resource_exhausted,
               "all " + std::to_string(usable) + " sandbox id ranges are in use (docs/density.md: SoulBox id slots)"};
}

Status write_id_maps(pid_t pid, uint32_t host_base) {
  const std::string map = "0 " + std::to_string(host_base) + " " + std::to_string(kIdsPerSandbox) + "\n";
  const std::string proc = "/proc/" + std::to_string(pid);
  if (auto st = write_control(proc + "/uid_map", map); !st) return st;
  return write_control(proc + "/gid_map", map);
}

}  // namespace soulbox::isolation
