// Containment of the filesystem, in order (each step's comment says why):
// private propagation -> scratch tmpfs -> overlay root -> read-only binds ->
// /proc (masked) -> minimal /dev -> /tmp -> pivot_root.
#include "isolation/rootfs.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "isolation/userns.h"

namespace soulbox::isolation {
namespace {

constexpr unsigned long kNoSuidDev = MS_NOSUID | MS_NODEV;

// Sets *step and returns errno: the failing step is reported to the parent.
int fail(std::string* step, const std::string& what) {
  const int err = errno ? errno : EINVAL;
  *step = what;
  return err;
}

// Flags a bind remount must keep: inside a user namespace the kernel refuses
// to clear flags the original mount had (they are locked).
unsigned long locked_flags(const std::string& path) {
  struct statvfs sv {};
  if (::statvfs(path.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

int bind(const std::string& src, const std::string& dst, bool writable, std::string* step) {
  if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return fail(step, "bind " + src + " -> " + dst);
  unsigned long flags = MS_BIND | MS_REMOUNT | kNoSuidDev | locked_flags(dst);
  if (!writable) flags |= MS_RDONLY;
  if (::mount(nullptr, dst.c_str(), nullptr, flags, nullptr) != 0)
    return fail(step, "remount bind " + dst + (writable ? "" : " read-only"));
  return 0;
}

// Creates the mount point for a bind if the template lacks it.
int make_mount_point(const std::string& src, const std::string& dst, std::string* step) {
  struct stat st {};
  if (::lstat(dst.c_str(), &st) == 0) return 0;
  if (::stat(src.c_str(), &st) != 0) return fail(step, "stat bind source " + src);
  for (size_t pos = 1; (pos = dst.find('/', pos)) != std::string::npos; ++pos) {
    const std::string parent = dst.substr(0, pos);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return fail(step, "mkdir " + parent);
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(dst.c_str(), 0755) != 0 && errno != EEXIST) return fail(step, "mkdir " + dst);
  } else {
    unique_fd fd(::open(dst.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return fail(step, "create mount point " + dst);
  }
  return 0;
}

// Writable top-level directories of the overlay: created in the upper layer
// so they belong to the sandbox's root (template files belong to host root,
// which is unmapped inside). /home/user belongs to `user`.
int make_upper_dirs(const std::string& upper, std::string* step) {
  for (const char* d : {"etc", "home", "home/user", "root", "var", "opt", "srv", "mnt", "run"}) {
    const std::string path = upper + "/" + d;
    if (::mkdir(path.c_str(), 0755) != 0) return fail(step, "mkdir " + path);
  }
  if (::chmod((upper + "/root").c_str(), 0700) != 0) return fail(step, "chmod upper/root");
  if (::chown((upper + "/home/user").c_str(), kSandboxUser, kSandboxUser) != 0)
    return fail(step, "chown upper/home/user");
  return 0;
}

int mount_proc(const std::string& root, std::string* step) {
  const std::string proc = root + "/proc";
  if (::mount("proc", proc.c_str(), "proc", kNoSuidDev | MS_NOEXEC, nullptr) != 0) return fail(step, "mount /proc");
  // Docker's maskedPaths: files read as empty, directories as empty tmpfs.
  for (const char* f : {"kcore", "keys", "timer_list", "sched_debug", "latency_stats", "timer_stats", "kallsyms",
                        "kpagecount", "kpageflags", "kpagecgroup"}) {
    const std::string path = proc + "/" + f;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) != 0) return fail(step, "mask " + path);
  }
  for (const char* d : {"acpi", "asound", "scsi", "driver"}) {
    const std::string path = proc + "/" + d;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | kNoSuidDev | MS_NOEXEC, "size=0,mode=0555") != 0)
      return fail(step, "mask " + path);
  }
  // Docker's readonlyPaths.
  for (const char* d : {"bus", "fs", "irq", "sys", "sysrq-trigger"}) {
    const std::string path = proc + "/" + d;
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (int err = bind(path, path, false, step)) return err;
  }
  return 0;
}

constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
constexpr std::pair<const char*, const char*> kDevLinks[] = {{"ptmx", "pts/ptmx"},
                                                             {"fd", "/proc/self/fd"},
                                                             {"stdin", "/proc/self/fd/0"},
                                                             {"stdout", "/proc/self/fd/1"},
                                                             {"stderr", "/proc/self/fd/2"}};

// /tmp and /dev/shm: world-writable, capped in bytes and in inodes (empty
// files cost no bytes, only inodes, and each is kernel memory).
std::string tmpfs_options(const RootfsPlan& plan) {
  return "mode=1777,size=" + std::to_string(plan.tmp_bytes) + ",nr_inodes=" + std::to_string(plan.tmp_inodes);
}

// The private devpts instance and /dev/shm, on top of either /dev flavour.
int mount_dev_children(const std::string& dev, const RootfsPlan& plan, std::string* step) {
  // A private devpts instance: the sandbox sees only its own terminals, and
  // at most plan.ptys of them (the kernel's pty pool is shared by all).
  const std::string pts_opts = "newinstance,ptmxmode=0666,mode=0620,max=" + std::to_string(plan.ptys);
  if (::mount("devpts", (dev + "/pts").c_str(), "devpts", MS_NOSUID | MS_NOEXEC, pts_opts.c_str()) != 0)
    return fail(step, "mount devpts");
  const std::string shm_opts = tmpfs_options(plan);
  if (::mount("tmpfs", (dev + "/shm").c_str(), "tmpfs", kNoSuidDev, shm_opts.c_str()) != 0)
    return fail(step, "mount /dev/shm");
  return 0;
}

// /dev from the prepared skeleton: one read-only bind (device nodes work: the
// skeleton lives on a host filesystem, not one mounted in this namespace).
int mount_dev_from_skeleton(const std::string& root, const std::string& skeleton, const RootfsPlan& plan,
                            std::string* step) {
  const std::string dev = root + "/dev";
  if (::mount(skeleton.c_str(), dev.c_str(), nullptr, MS_BIND, nullptr) != 0) return fail(step, "bind /dev skeleton");
  const unsigned long flags =
      MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC | (locked_flags(dev) & ~MS_NODEV);
  if (::mount(nullptr, dev.c_str(), nullptr, flags, nullptr) != 0) return fail(step, "remount /dev read-only");
  return mount_dev_children(dev, plan, step);
}

int mount_dev_from_tmpfs(const std::string& root, const RootfsPlan& plan, std::string* step) {
  const std::string dev = root + "/dev";
  if (::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") != 0)
    return fail(step, "mount /dev tmpfs");
  // Device nodes cannot be created in a user namespace: bind the host's.
  for (const char* node : kDevNodes) {
    const std::string path = dev + "/" + node;
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
    if (!fd) return fail(step, "create " + path);
    if (::mount((std::string("/dev/") + node).c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return fail(step, "bind /dev/" + std::string(node));
  }
  if (::mkdir((dev + "/pts").c_str(), 0755) != 0 || ::mkdir((dev + "/shm").c_str(), 01777) != 0)
    return fail(step, "mkdir /dev/pts, /dev/shm");
  for (const auto& [name, target] : kDevLinks)
    if (::symlink(target, (dev + "/" + name).c_str()) != 0) return fail(step, std::string("symlink /dev/") + name);
  if (int err = mount_dev_children(dev, plan, step)) return err;
  // Nothing may be added to /dev afterwards.
  if (::mount(nullptr, dev.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
              "size=64k,nr_inodes=64,mode=0755") != 0)
    return fail(step, "remount /dev read-only");
  return 0;
}

}  // namespace

int build_rootfs_and_pivot(const RootfsPlan& plan, std::string* step) {
  // 1. No mount event may propagate to or from the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(step, "make / private");
  // 2. Scratch tmpfs: the writable layer is capped in bytes and inodes, is
  //    charged to the sandbox's memory cgroup, and vanishes with the namespace.
  const std::string& s = plan.scratch_dir;
  const std::string scratch_opts =
      "mode=0755,size=" + std::to_string(plan.disk_bytes) + ",nr_inodes=" + std::to_string(plan.disk_inodes);
  if (::mount("tmpfs", s.c_str(), "tmpfs", kNoSuidDev, scratch_opts.c_str()) != 0)
    return fail(step, "mount scratch tmpfs on " + s);
  const std::string upper = s + "/upper", work = s + "/work", root = s + "/root";
  for (const auto* d : {&upper, &work, &root})
    if (::mkdir(d->c_str(), 0755) != 0) return fail(step, "mkdir " + *d);
  if (int err = make_upper_dirs(upper, step)) return err;
  // 3. Overlay root: template below (read-only), scratch above. userxattr:
  //    overlay metadata in user.* xattrs, as required inside a user namespace.
  const std::string ovl = "lowerdir=" + plan.lower_dir + ",upperdir=" + upper + ",workdir=" + work + ",userxattr";
  if (::mount("overlay", root.c_str(), "overlay", kNoSuidDev, ovl.c_str()) != 0)
    return fail(step, "mount overlay root (" + ovl + ")");
  // 4. Host paths: read-only unless asked otherwise, never suid or devices.
  for (const auto& b : plan.binds) {
    const std::string dst = root + b.sandbox_path;
    if (int err = make_mount_point(b.host_path, dst, step)) return err;
    if (int err = bind(b.host_path, dst, b.writable, step)) return err;
  }
  // 5-7. /proc, /dev, /tmp.
  if (int err = mount_proc(root, step)) return err;
  if (int err = plan.dev_skeleton.empty() ? mount_dev_from_tmpfs(root, plan, step)
                                          : mount_dev_from_skeleton(root, plan.dev_skeleton, plan, step))
    return err;
  const std::string tmp_opts = tmpfs_options(plan);
  if (::mount("tmpfs", (root + "/tmp").c_str(), "tmpfs", kNoSuidDev, tmp_opts.c_str()) != 0)
    return fail(step, "mount /tmp");
  // 8. pivot_root(".", ".") stacks the old root under the new one; detaching
  //    it removes every host mount from this namespace.
  if (::chdir(root.c_str()) != 0) return fail(step, "chdir new root");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail(step, "pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return fail(step, "detach old root");
  if (::chdir("/") != 0) return fail(step, "chdir /");
  return 0;
}

std::string make_dev_skeleton(const std::string& parent_dir) {
  struct statvfs sv {};
  if (::statvfs(parent_dir.c_str(), &sv) != 0 || (sv.f_flag & ST_NODEV)) return "";
  const std::string dir = parent_dir + "/dev-skeleton.1";
  if (::access((dir + "/tty").c_str(), F_OK) == 0) return dir;
  const std::string staging = parent_dir + "/dev-skeleton.building." + std::to_string(::getpid());
  if (::mkdir(staging.c_str(), 0755) != 0 && errno != EEXIST) return "";
  bool ok = ::chmod(staging.c_str(), 0755) == 0 && ::mkdir((staging + "/pts").c_str(), 0755) == 0 &&
            ::mkdir((staging + "/shm").c_str(), 0755) == 0 && ::chmod((staging + "/shm").c_str(), 01777) == 0;
  for (const char* node : kDevNodes) {
    struct stat st {};
    const std::string path = staging + "/" + node;
    ok = ok && ::stat((std::string("/dev/") + node).c_str(), &st) == 0 && S_ISCHR(st.st_mode) &&
         ::mknod(path.c_str(), S_IFCHR | 0666, st.st_rdev) == 0 && ::chmod(path.c_str(), 0666) == 0;
  }
  for (const auto& [name, target] : kDevLinks) ok = ok && ::symlink(target, (staging + "/" + name).c_str()) == 0;
  if (ok && ::rename(staging.c_str(), dir.c_str()) == 0) return dir;
  // Failed, or a concurrent builder won the rename.
  for (const char* node : kDevNodes) ::unlink((staging + "/" + node).c_str());
  for (const auto& link : kDevLinks) ::unlink((staging + "/" + link.first).c_str());
  ::rmdir((staging + "/pts").c_str());
  ::rmdir((staging + "/shm").c_str());
  ::rmdir(staging.c_str());
  return ::access((dir + "/tty").c_str(), F_OK) == 0 ? dir : "";
}

int bring_loopback_up(std::string* step) {
  unique_fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail(step, "socket for loopback");
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return fail(step, "SIOCGIFFLAGS lo");
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return fail(step, "SIOCSIFFLAGS lo up");
  return 0;
}

}  // namespace soulbox::isolation
