#include "bench/sandbox_traces.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace soulbox::bench {
namespace fs = std::filesystem;

namespace {

const char* const kCgroupRoot = "/sys/fs/cgroup";

bool cgroup_v2() {
  return fs::exists(std::string(kCgroupRoot) + "/cgroup.controllers");
}

std::set<std::string> entries_of(const std::string& dir, bool directories_only) {
  std::set<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!directories_only || it->is_directory(ec)) out.insert(it->path().filename().string());
  return out;
}

}  // namespace

std::vector<std::string> cgroup_parent_dirs(const std::string& parent) {
  if (cgroup_v2()) {
    const std::string d = std::string(kCgroupRoot) + "/" + parent;
    return fs::is_directory(d) ? std::vector<std::string>{d} : std::vector<std::string>{};
  }
  // v1: cpu and cpuacct are links to one "cpu,cpuacct" hierarchy.
  std::set<std::string> hierarchies;
  std::error_code ec;
  for (const auto& name : entries_of(kCgroupRoot, true)) {
    const auto real = fs::canonical(std::string(kCgroupRoot) + "/" + name, ec);
    if (!ec) hierarchies.insert(real.string());
  }
  std::vector<std::string> out;
  for (const auto& h : hierarchies)
    if (fs::is_directory(h + "/" + parent, ec)) out.push_back(h + "/" + parent);
  return out;
}

std::set<std::string> cgroups_under(const std::string& parent) {
  std::set<std::string> out;
  for (const auto& dir : cgroup_parent_dirs(parent)) out.merge(entries_of(dir, true));
  return out;
}

std::vector<pid_t> sandbox_pids(const std::string& parent, const std::string& id) {
  const std::string base = cgroup_v2() ? std::string(kCgroupRoot) : std::string(kCgroupRoot) + "/pids";
  std::ifstream in(base + "/" + parent + "/" + id + "/cgroup.procs");
  std::vector<pid_t> out;
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

void remove_cgroup_parent(const std::string& parent) {
  for (const auto& dir : cgroup_parent_dirs(parent)) ::rmdir(dir.c_str());
}

std::set<std::string> scratch_dirs(const std::string& data_dir) {
  return entries_of(data_dir + "/sandboxes", false);
}

std::set<std::string> mounted_sandboxes(const std::string& data_dir, const std::vector<std::string>& mountinfo_files) {
  const std::string prefix = data_dir + "/sandboxes/";
  std::set<std::string> out;
  for (const auto& file : mountinfo_files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      for (size_t at = line.find(prefix); at != std::string::npos; at = line.find(prefix, at + 1)) {
        const size_t begin = at + prefix.size();
        const size_t end = line.find_first_of("/ ", begin);
        out.insert(line.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
      }
    }
  }
  return out;
}

std::string mount_namespace(pid_t pid) {
  std::error_code ec;
  const auto link = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/mnt", ec);
  return ec ? std::string() : link.string();
}

std::set<std::string> live_mount_namespaces(const std::vector<pid_t>& fd_holders,
                                            const std::vector<std::string>& mountinfo_files) {
  std::set<std::string> out;
  for (const auto& name : entries_of("/proc", true))
    if (name.find_first_not_of("0123456789") == std::string::npos) {
      auto ns = mount_namespace(std::atoi(name.c_str()));
      if (!ns.empty()) out.insert(std::move(ns));
    }
  std::error_code ec;
  for (pid_t holder : fd_holders) {
    const std::string fds = "/proc/" + std::to_string(holder) + "/fd";
    for (const auto& fd : entries_of(fds, false)) {
      const auto link = fs::read_symlink(fds + "/" + fd, ec).string();
      if (!ec && link.rfind("mnt:[", 0) == 0) out.insert(link);
    }
  }
  for (const auto& file : mountinfo_files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
      if (auto at = line.find("mnt:["); at != std::string::npos)
        out.insert(line.substr(at, line.find(']', at) - at + 1));
  }
  return out;
}

size_t mounts_below(const std::string& dir, const std::vector<std::string>& mountinfo_files) {
  size_t n = 0;
  for (const auto& file : mountinfo_files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) n += line.find(dir + "/") != std::string::npos;
  }
  return n;
}

IdSlotFiles id_slot_files(const std::string& run_dir) {
  IdSlotFiles out;
  const std::string dir = run_dir + "/id-slots";
  for (const auto& name : entries_of(dir, false)) {
    ++out.files;
    // A lease is an flock held on the file; a free lock means its holder died.
    const int fd = ::open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) ++out.locked;
    ::close(fd);
  }
  return out;
}

std::optional<ProcessIdentity> identify(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // After "pid (comm)": field 3 (state) onwards; comm may hold spaces.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string state, field;
  rest >> state;
  if (state == "Z") return std::nullopt;
  for (int i = 4; i < 22 && rest >> field; ++i) {
  }
  uint64_t start = 0;
  if (!(rest >> start)) return std::nullopt;
  return ProcessIdentity{pid, start};
}

bool still_running(const ProcessIdentity& p) {
  const auto now = identify(p.pid);
  return now && now->start_ticks == p.start_ticks;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& tid : entries_of(tasks, true)) {
    std::ifstream in(tasks + "/" + tid + "/children");
    for (pid_t child; in >> child;) out.push_back(child);
  }
  return out;
}

std::string command_name(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace soulbox::bench
