#include "isolation/host_limits.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

#include "isolation/fs_util.h"

namespace soulbox::isolation {
namespace {

constexpr uint64_t kMemoryCgroupIds = 65535;  // MEM_CGROUP_ID_MAX: memcg ids are 16-bit (v1 and v2)
constexpr uint64_t kPidMaxLimit = 1u << 22;   // PID_MAX_LIMIT on 64-bit
constexpr uint64_t kPtyMaxLimit = 1u << 20;   // NR_UNIX98_PTY_MAX

std::optional<uint64_t> read_number(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  uint64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// "kernel.pid_max" -> <proc>/sys/kernel/pid_max
std::string sysctl_path(const std::string& proc, const std::string& name) {
  std::string path = name;
  std::replace(path.begin(), path.end(), '.', '/');
  return proc + "/sys/" + path;
}

uint64_t next_power_of_two(uint64_t n) {
  uint64_t p = 1;
  while (p < n && p < (uint64_t(1) << 62)) p <<= 1;
  return p;
}

// A value that holds the target with room to spare, and more than now.
uint64_t suggested(uint64_t value, uint64_t in_use, uint64_t per_sandbox, uint64_t ceiling = kUnlimited) {
  return std::min(ceiling, next_power_of_two(std::max(in_use + kDensityTarget * per_sandbox, value + 1)));
}

DensityLimit make_limit(std::string name, uint64_t value, uint64_t in_use, uint64_t per_sandbox, std::string remedy) {
  DensityLimit l{std::move(name), value, in_use, per_sandbox, kUnlimited, std::move(remedy)};
  if (per_sandbox) l.sandboxes = value > in_use ? (value - in_use) / per_sandbox : 0;
  return l;
}

// A sysctl whose value, less what is in use, is shared by sandboxes.
void add_sysctl(std::vector<DensityLimit>& out, const DensityInputs& in, const std::string& name, uint64_t in_use,
                uint64_t per_sandbox, uint64_t ceiling = kUnlimited) {
  const auto value = read_number(sysctl_path(in.proc, name));
  if (!value) return;
  // Sandboxes running code take far more pids than idle ones: for pid_max,
  // the 64-bit maximum (systemd's default since v243).
  const uint64_t raised = name == "kernel.pid_max" ? ceiling : suggested(*value, in_use, per_sandbox, ceiling);
  out.push_back(make_limit(name, *value, in_use, per_sandbox,
                           raised > *value ? "sysctl -w " + name + "=" + std::to_string(raised)
                                           : "nothing: " + name + " is at the kernel's maximum"));
}

// Tasks (threads) on the host now: the total in /proc/loadavg ("0.00 0.01 0.05 1/262 4242").
uint64_t tasks_now(const std::string& proc) {
  auto text = read_small_file(proc + "/loadavg");
  if (!text) return 0;
  std::istringstream in(*text);
  std::string a, b, c, running;
  in >> a >> b >> c >> running;
  const size_t slash = running.find('/');
  return slash == std::string::npos ? 0 : std::strtoull(running.c_str() + slash + 1, nullptr, 10);
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d) return names;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  ::closedir(d);
  return names;
}

size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) n += line.rfind(prefix, 0) == 0;
  return n;
}

std::string link_of(const std::string& path) {
  char target[128];
  const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, size_t(n)) : std::string();
}

// What is held now of the limits charged to root. A user namespace charges
// its inotify instances and watches to whoever created it, up to the
// initial namespace: every sandbox's go to root, and so (counted here) do
// those of every process in another user namespace. epoll watches are
// charged to the real uid alone.
struct RootHoldings {
  uint64_t inotify_instances = 0;
  uint64_t inotify_watches = 0;
  uint64_t epoll_watches = 0;
};

RootHoldings root_holdings(const std::string& proc) {
  RootHoldings h;
  const std::string own_userns = link_of(proc + "/self/ns/user");
  for (const auto& pid : list_dir(proc)) {
    if (!std::all_of(pid.begin(), pid.end(), [](char ch) { return std::isdigit(uint8_t(ch)) != 0; })) continue;
    auto status = read_small_file(proc + "/" + pid + "/status");
    if (!status) continue;
    const size_t at = status->find("\nUid:");
    if (at == std::string::npos) continue;
    std::istringstream uids(status->substr(at + 5));
    uint64_t real = 1, effective = 1;
    uids >> real >> effective;
    const std::string userns = link_of(proc + "/" + pid + "/ns/user");
    const bool nested = !own_userns.empty() && !userns.empty() && userns != own_userns;
    const bool inotify_is_roots = nested || effective == 0;
    const bool epoll_is_roots = !nested && real == 0;
    if (!inotify_is_roots && !epoll_is_roots) continue;
    const std::string fds = proc + "/" + pid + "/fd";
    for (const auto& fd : list_dir(fds)) {
      const std::string kind = link_of(fds + "/" + fd);
      const bool inotify = kind == "anon_inode:inotify" && inotify_is_roots;
      const bool epoll = kind == "anon_inode:[eventpoll]" && epoll_is_roots;
      if (!inotify && !epoll) continue;
      auto info = read_small_file(proc + "/" + pid + "/fdinfo/" + fd);
      if (!info) continue;
      if (inotify) {
        ++h.inotify_instances;
        h.inotify_watches += count_lines_starting(*info, "inotify wd:");
      } else {
        h.epoll_watches += count_lines_starting(*info, "tfd:");
      }
    }
  }
  return h;
}

// Live and dying memory cgroups: each holds one of the 65,535 memcg ids
// until it is freed, and a removed group lingers (dying) while pages are
// still charged to it.
std::optional<uint64_t> memory_cgroups_now(const DensityInputs& in) {
  if (in.cgroup_v2)
    if (auto stat = read_small_file(in.cgroup_root + "/cgroup.stat")) {  // per controller since Linux 6.11
      std::istringstream lines(*stat);
      std::string key;
      uint64_t value = 0, live = 0, dying = 0;
      bool found = false;
      while (lines >> key >> value) {
        if (key == "nr_subsys_memory") live = value, found = true;
        if (key == "nr_dying_subsys_memory") dying = value;
      }
      if (found) return live + dying;
    }
  // "#subsys_name hierarchy num_cgroups enabled": on v2 num_cgroups counts
  // every group of the hierarchy, dying ones too (an upper bound).
  auto table = read_small_file(in.proc + "/cgroups");
  if (!table) return std::nullopt;
  std::istringstream lines(*table);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream row(line);
    std::string name;
    uint64_t hierarchy = 0, groups = 0, enabled = 0;
    if (row >> name >> hierarchy >> groups >> enabled && name == "memory")
      return enabled ? std::optional<uint64_t>(groups) : std::nullopt;
  }
  return std::nullopt;
}

struct NofileLimit {
  uint64_t soft = 0;
  uint64_t open = 0;
};

// proc/<who>/limits ("Max open files  1024  524288  files") and proc/<who>/fd.
std::optional<NofileLimit> nofile_of(const std::string& proc, const std::string& who) {
  auto limits = read_small_file(proc + "/" + who + "/limits");
  if (!limits) return std::nullopt;
  const size_t at = limits->find("Max open files");
  if (at == std::string::npos) return std::nullopt;
  std::istringstream row(limits->substr(at + 14));
  std::string soft;
  row >> soft;
  NofileLimit l;
  l.soft = soft == "unlimited" ? kUnlimited : std::strtoull(soft.c_str(), nullptr, 10);
  l.open = list_dir(proc + "/" + who + "/fd").size();
  return l;
}

void add_nofile(std::vector<DensityLimit>& out, const DensityInputs& in, const std::string& who,
                const std::string& process, uint64_t headroom, uint64_t per_sandbox) {
  const auto l = nofile_of(in.proc, who);
  if (!l) return;
  const uint64_t in_use = l->open + headroom;
  const uint64_t raised = suggested(l->soft, in_use, per_sandbox);
  std::string remedy = "LimitNOFILE=" + std::to_string(raised) + " in soulboxd's systemd unit (or ulimit -n " +
                       std::to_string(raised) + " before starting it)";
  if (auto nr_open = read_number(sysctl_path(in.proc, "fs.nr_open")); nr_open && raised > *nr_open)
    remedy = "sysctl -w fs.nr_open=" + std::to_string(raised) + ", then " + remedy;
  out.push_back(make_limit("RLIMIT_NOFILE of " + process, l->soft, in_use, per_sandbox, remedy));
}

}  // namespace

DensityReport assess_density(const DensityInputs& in) {
  const SandboxCosts& c = in.costs;
  DensityReport r;
  auto& out = r.limits;
  const uint64_t tasks = tasks_now(in.proc);
  add_sysctl(out, in, "kernel.pid_max", tasks, c.tasks, kPidMaxLimit);
  add_sysctl(out, in, "kernel.threads-max", tasks, c.tasks);
  for (const char* kind : {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup"})
    add_sysctl(out, in, std::string("user.max_") + kind + "_namespaces", 0, c.namespaces);
  const RootHoldings root = root_holdings(in.proc);
  add_sysctl(out, in, "fs.inotify.max_user_instances", root.inotify_instances, c.inotify_instances);
  add_sysctl(out, in, "fs.inotify.max_user_watches", root.inotify_watches, c.inotify_watches);
  add_sysctl(out, in, "fs.epoll.max_user_watches", root.epoll_watches, c.epoll_watches);
  if (auto file_nr = read_number(sysctl_path(in.proc, "fs.file-nr")))
    add_sysctl(out, in, "fs.file-max", *file_nr, c.open_files);
  if (in.launcher_pid > 0) {
    add_nofile(out, in, "self", "soulboxd", in.daemon_fd_headroom, c.daemon_fds);
    add_nofile(out, in, std::to_string(in.launcher_pid), "the launcher", in.launcher_fd_headroom, c.launcher_fds);
  } else {
    add_nofile(out, in, "self", "soulboxd", in.daemon_fd_headroom, c.daemon_fds + c.launcher_fds);
  }
  if (auto memcgs = memory_cgroups_now(in))
    out.push_back(make_limit("memory cgroup ids", kMemoryCgroupIds, *memcgs, c.memory_cgroups,
                             "nothing raises it (the kernel's memcg ids are 16-bit); removed groups hold theirs "
                             "while memory is charged to them: sync; echo 3 > /proc/sys/vm/drop_caches frees most"));
  const auto pty_max = read_number(sysctl_path(in.proc, "kernel.pty.max"));
  const auto pty_reserve = read_number(sysctl_path(in.proc, "kernel.pty.reserve"));
  if (pty_max && pty_reserve) {
    const PtyPool pool{*pty_max, *pty_reserve, read_number(sysctl_path(in.proc, "kernel.pty.nr")).value_or(0)};
    const uint64_t in_use = pool.reserve + pool.nr;
    DensityLimit l = make_limit("kernel.pty.max", pool.max, in_use, c.ptys, "");
    l.sandboxes = sandboxes_within_pty_pool(pool, c.ptys);
    const uint64_t raised = suggested(pool.max, in_use, c.ptys, kPtyMaxLimit);
    l.remedy = raised > pool.max ? "sysctl -w kernel.pty.max=" + std::to_string(raised)
                                 : "nothing: kernel.pty.max is at the kernel's maximum";
    out.push_back(l);
  }
  out.push_back(make_limit("SoulBox id slots", in.id_slots, 0, c.id_slots,
                           "nothing raises it (isolation/userns.h); each /etc/subuid or /etc/subgid entry between " +
                               std::to_string(kFirstHostId) + " and " + std::to_string(kHostIdEnd) +
                               " takes the slots it overlaps"));
  return r;
}

DensityLimit DensityReport::binding() const {
  DensityLimit best;
  for (const auto& l : limits)
    if (l.sandboxes < best.sandboxes) best = l;
  return best;
}

std::string density_summary(const DensityReport& report) {
  const DensityLimit b = report.binding();
  if (b.sandboxes == kUnlimited) return "density: no host limit caps this node's sandboxes (none could be read)";
  return "density: this node can hold " + std::to_string(b.sandboxes) + " sandboxes; capped by " + b.name + " (" +
         std::to_string(b.value) + "); raise it with " + b.remedy;
}

std::vector<std::string> density_warnings(const DensityReport& report, uint64_t target) {
  std::vector<std::string> lines;
  for (const auto& l : report.limits)
    if (l.sandboxes < target)
      lines.push_back("density: " + l.name + " = " + std::to_string(l.value) + " (" + std::to_string(l.in_use) +
                      " in use, " + std::to_string(l.per_sandbox) + " per sandbox) allows only " +
                      std::to_string(l.sandboxes) + " sandboxes, fewer than " + std::to_string(target) +
                      "; raise it with " + l.remedy);
  return lines;
}

Result<OpenFileLimit> raise_open_file_limit() {
  struct rlimit r {};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return sys_error("getrlimit RLIMIT_NOFILE");
  OpenFileLimit out{r.rlim_cur, r.rlim_cur};
  if (r.rlim_cur == r.rlim_max) return out;
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0) return sys_error("setrlimit RLIMIT_NOFILE");
  out.after = r.rlim_cur;
  return out;
}

uint64_t sandboxes_within_pty_pool(const PtyPool& pool, uint64_t ptys_per_sandbox) {
  const uint64_t taken = pool.reserve + pool.nr;
  if (ptys_per_sandbox == 0 || pool.max <= taken) return 0;
  return (pool.max - taken) / ptys_per_sandbox;
}

}  // namespace soulbox::isolation
