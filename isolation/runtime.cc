#include "isolation/runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/scope_guard.h"
#include "isolation/fs_util.h"
#include "isolation/launcher.h"
#include "isolation/rootfs.h"

namespace soulbox::isolation {
namespace {

std::string default_agent_path() {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "/usr/lib/soulbox/soulbox-agent";
  std::string dir(self, size_t(n));
  dir.resize(dir.rfind('/'));
  for (const std::string& candidate :
       {dir + "/soulbox-agent", dir + "/../soulbox-agent", dir + "/../agent/soulbox-agent"})
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  return "/usr/lib/soulbox/soulbox-agent";
}

// Copies the agent into a sealed memfd: sandboxes exec this immutable copy, so
// nothing inside can rewrite the binary the host runs (CVE-2019-5736 class),
// and a rebuilt agent on disk never changes running sandboxes.
Result<unique_fd> load_agent_image(const std::string& path) {
  unique_fd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src)
    return sys_error("open agent " + path + " (build soulbox-agent or pass its path)", errno, ErrorCode::not_found);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return sys_error("stat " + path);
  unique_fd mem(::memfd_create("soulbox-agent", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return sys_error("memfd_create");
  off_t offset = 0;
  while (offset < st.st_size) {
    const ssize_t n = ::sendfile(mem.get(), src.get(), &offset, size_t(st.st_size - offset));
    if (n <= 0) return sys_error("copy agent image");
  }
  if (::fchmod(mem.get(), 0555) != 0) return sys_error("fchmod agent image");
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return sys_error("seal agent image");
  return mem;
}

std::string random_id() {
  unsigned char bytes[8];
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) return "sb-" + std::to_string(::getpid());
  static const char hex[] = "0123456789abcdef";
  std::string id = "sb-";
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

// Overlay options are comma separated and lowerdir is colon separated.
bool usable_data_dir(const std::string& dir) {
  return !dir.empty() && dir[0] == '/' && dir.find_first_of(",:\\ ") == std::string::npos;
}

// Sandbox children run as unprivileged host ids and must traverse the data
// dir to reach their template and scratch mount point.
Status prepare_dir(const std::string& dir, mode_t mode) {
  if (auto st = ensure_dir(dir, int(mode)); !st) return st;
  if (::chmod(dir.c_str(), mode) != 0) return sys_error("chmod " + dir);
  return {};
}

}  // namespace

Runtime::Runtime(RuntimeOptions options, SeccompProgram seccomp, unique_fd agent_image,
                 std::unique_ptr<CgroupDriver> cgroups, std::optional<NetnsPool> netns, unique_fd host_netns)
    : options_(std::move(options)),
      seccomp_(std::move(seccomp)),
      agent_image_(std::move(agent_image)),
      cgroups_(std::move(cgroups)),
      templates_(options_.data_dir + "/templates"),
      // Ids the host lent to its users' own containers are not ours to hand out.
      ids_(options_.run_dir + "/id-slots", kFirstHostId, kIdSlots, read_subordinate_ids()),
      netns_(std::move(netns)),
      host_netns_(std::move(host_netns)),
      dev_skeleton_(options_.prepared_dev ? make_dev_skeleton(options_.data_dir) : "") {}

Result<std::unique_ptr<Runtime>> Runtime::open(const RuntimeOptions& in) {
  RuntimeOptions options = in;
  if (::geteuid() != 0)
    return Error{ErrorCode::permission_denied, "SoulBox must run as root to create namespaces and cgroups"};
  if (!usable_data_dir(options.data_dir))
    return Error{ErrorCode::invalid_argument,
                 "data dir must be an absolute path without ',', ':', '\\' or spaces: '" + options.data_dir + "'"};
  for (const auto& dir : {options.data_dir, options.data_dir + "/templates", options.data_dir + "/sandboxes"})
    if (auto st = prepare_dir(dir, 0711); !st) return st.error();
  if (auto st = prepare_dir(options.run_dir, 0700); !st) return st.error();
  if (options.agent_path.empty()) options.agent_path = default_agent_path();
  auto seccomp = build_seccomp_program();
  if (!seccomp) return seccomp.error();
  auto image = load_agent_image(options.agent_path);
  if (!image) return image.error();
  auto cgroups = detect_cgroup_driver(options.cgroup_root, options.cgroup_parent);
  if (!cgroups) return cgroups.error();
  std::optional<NetnsPool> netns;
  unique_fd host_netns;
  if (options.netns_pool > 0) {
    host_netns.reset(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!host_netns) return sys_error("open /proc/self/ns/net");
    auto pool = NetnsPool::start(options.netns_pool);
    if (!pool) return pool.error();
    netns.emplace(std::move(*pool));
  }
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(options), std::move(*seccomp), std::move(*image),
                                               std::move(*cgroups), std::move(netns), std::move(host_netns)));
  runtime->collect_stale();
  return runtime;
}

size_t Runtime::collect_stale() {
  const std::string dir = options_.data_dir + "/sandboxes";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  std::vector<std::string> stale;
  while (auto* e = ::readdir(d)) {
    const std::string id = e->d_name;
    if (!valid_sandbox_id(id)) continue;
    unique_fd fd(::open((dir + "/" + id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) stale.push_back(id);  // nobody owns it
  }
  ::closedir(d);
  for (const auto& id : stale) {
    auto group = cgroups_->open(id);
    (void)group->kill_all();
    (void)group->remove();
    ::rmdir((dir + "/" + id).c_str());
    logger("isolation")->info("removed stale sandbox {}", id);
  }
  return stale.size();
}

Result<std::unique_ptr<Sandbox>> Runtime::create(const SandboxSpec& spec) {
  if (auto st = validate_spec(spec); !st) return st.error();
  const std::string id = spec.id.empty() ? random_id() : spec.id;
  auto tmpl = templates_.get(spec.template_name);
  if (!tmpl) return tmpl.error();
  auto ids = ids_.acquire();
  if (!ids) return ids.error();

  const std::string scratch = options_.data_dir + "/sandboxes/" + id;
  if (::mkdir(scratch.c_str(), 0700) != 0)
    return sys_error("mkdir " + scratch, errno, errno == EEXIST ? ErrorCode::already_exists : ErrorCode::io_error);
  auto drop_scratch = defer([&] { ::rmdir(scratch.c_str()); });
  unique_fd scratch_lock(::open(scratch.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!scratch_lock || ::flock(scratch_lock.get(), LOCK_EX | LOCK_NB) != 0) return sys_error("lock " + scratch);

  const Limits& l = spec.limits;
  auto cgroup = cgroups_->create(id, CgroupLimits{l.memory_bytes, l.cpus, l.pids});
  if (!cgroup) return cgroup.error();
  auto drop_cgroup = defer([&] { (void)(*cgroup)->remove(); });

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return sys_error("socketpair");
  unique_fd host_end(pair[0]), agent_end(pair[1]);

  LaunchRequest req;
  req.rootfs = RootfsPlan{scratch,       tmpl->rootfs, tmpl->binds,  dev_skeleton_, l.disk_bytes,
                          l.disk_inodes, l.tmp_bytes,  l.tmp_inodes, l.ptys};
  req.rootfs.binds.insert(req.rootfs.binds.end(), spec.binds.begin(), spec.binds.end());
  req.hostname = spec.hostname;
  req.host_id_base = ids->host_base;
  req.agent_channel_fd = agent_end.get();
  req.agent_exec_fd = agent_image_.get();
  req.agent_argv = {"soulbox-agent", "--output-limit=" + std::to_string(options_.agent_output_limit)};
  req.seccomp = &seccomp_;
  req.rlimits = RlimitSettings{l.nofile, l.fsize_bytes, l.pids};
  req.cgroup = cgroup->get();
  unique_fd netns = netns_ ? netns_->take() : unique_fd();  // none ready: the clone makes one
  req.netns_fd = netns.get();
  req.host_netns_fd = host_netns_.get();
  auto launched = launch_sandbox(req);
  if (!launched) return launched.error();

  drop_cgroup.cancel();
  drop_scratch.cancel();
  return std::make_unique<Sandbox>(id, launched->pid, std::move(launched->pidfd), std::move(host_end),
                                   std::move(*cgroup), std::move(*ids), scratch, std::move(scratch_lock));
}

}  // namespace soulbox::isolation
