// What sandboxes leave on the host, looked up the way bench/soak.sh and
// tests/host_state.sh look: cgroups under a daemon's cgroup parent, scratch
// dirs under <data>/sandboxes, mounts naming them, id-slot lease files in
// <run>/id-slots, and processes (a pid and its start time, so a reused pid
// is not taken for the old process).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace soulbox::bench {

// The directories of `parent` in every cgroup hierarchy that has one (v2:
// at most one; v1: one per mounted controller, co-mounts counted once).
std::vector<std::string> cgroup_parent_dirs(const std::string& parent);
// Names of the groups directly under `parent`, in any hierarchy.
std::set<std::string> cgroups_under(const std::string& parent);
// The pids in sandbox `id`'s group (the pids controller on v1).
std::vector<pid_t> sandbox_pids(const std::string& parent, const std::string& id);
// rmdir of `parent` in every hierarchy (fails harmlessly where not empty).
void remove_cgroup_parent(const std::string& parent);

// Entries of <data_dir>/sandboxes (one scratch dir per live sandbox).
std::set<std::string> scratch_dirs(const std::string& data_dir);

// Sandbox ids named by mounts below <data_dir>/sandboxes/ in these
// mountinfo files (missing files are skipped).
std::set<std::string> mounted_sandboxes(const std::string& data_dir, const std::vector<std::string>& mountinfo_files);
// A sandbox's own mounts live in its mount namespace, which lasts while a
// process is in it, a descriptor holds it open, or it is bind-mounted.
// The namespace of `pid` ("mnt:[inode]"; empty when it is gone).
std::string mount_namespace(pid_t pid);
// Every mount namespace some process is in, plus those the descriptors of
// `fd_holders` hold and those bind-mounted in `mountinfo_files`.
std::set<std::string> live_mount_namespaces(const std::vector<pid_t>& fd_holders,
                                            const std::vector<std::string>& mountinfo_files);
// Lines of these mountinfo files naming anything below `dir`.
size_t mounts_below(const std::string& dir, const std::vector<std::string>& mountinfo_files);

struct IdSlotFiles {
  size_t files = 0;   // <run>/id-slots/<n>: a lease removes its file on release
  size_t locked = 0;  // of them, flocked by a live process (a lease still held)
};
IdSlotFiles id_slot_files(const std::string& run_dir);

// A process as it was seen: its pid and start time (field 22 of its stat).
struct ProcessIdentity {
  pid_t pid = -1;
  uint64_t start_ticks = 0;
};
std::optional<ProcessIdentity> identify(pid_t pid);
// Still the same process, and not a zombie (a zombie holds nothing).
bool still_running(const ProcessIdentity& p);

// Children of `pid` (all its threads'), from /proc/<pid>/task/*/children.
std::vector<pid_t> children_of(pid_t pid);
std::string command_name(pid_t pid);  // /proc/<pid>/comm

}  // namespace soulbox::bench
