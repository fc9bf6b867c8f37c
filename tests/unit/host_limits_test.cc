// The density check (isolation/host_limits.h) against fake /proc and cgroup
// trees: each limit can be the one that caps the node, and its remedy names
// the setting to raise.
#include "isolation/host_limits.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace soulbox::isolation;

namespace {

constexpr pid_t kLauncher = 4242;

// A host where nothing but SoulBox's own id slots (23,550) caps density.
struct FakeHost {
  fs::path root;
  DensityInputs in;

  FakeHost() {
    char tmpl[] = "/tmp/soulbox-hostlimits-XXXXXX";
    root = ::mkdtemp(tmpl);
    in.proc = (root / "proc").string();
    in.cgroup_root = (root / "cgroup").string();
    in.launcher_pid = kLauncher;
    in.id_slots = 23550;
    fs::create_directories(root / "cgroup");
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"kernel.pid_max", "4194304"},
                                                          {"kernel.threads-max", "1000000"},
                                                          {"user.max_user_namespaces", "100000"},
                                                          {"user.max_pid_namespaces", "100000"},
                                                          {"user.max_mnt_namespaces", "100000"},
                                                          {"user.max_uts_namespaces", "100000"},
                                                          {"user.max_ipc_namespaces", "100000"},
                                                          {"user.max_net_namespaces", "100000"},
                                                          {"user.max_cgroup_namespaces", "100000"},
                                                          {"fs.inotify.max_user_instances", "100000"},
                                                          {"fs.inotify.max_user_watches", "1000000"},
                                                          {"fs.epoll.max_user_watches", "10000000"},
                                                          {"fs.file-max", "10000000"},
                                                          {"fs.file-nr", "1000\t0\t10000000"},
                                                          {"fs.nr_open", "1048576"},
                                                          {"kernel.pty.max", "1048576"},
                                                          {"kernel.pty.reserve", "1024"},
                                                          {"kernel.pty.nr", "0"}})
      sysctl(name, value);
    write("proc/loadavg", "0.00 0.01 0.05 1/200 4243\n");
    write("proc/cgroups",
          "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t11\t1\nmemory\t4\t100\t1\npids\t8\t11\t1\n");
    process("self", 0, 1048576, 10);
    process(std::to_string(kLauncher), 0, 1048576, 9);
  }
  ~FakeHost() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
  void sysctl(std::string name, const std::string& value) {
    std::replace(name.begin(), name.end(), '.', '/');
    write("proc/sys/" + name, value + "\n");
  }
  // proc/<who>: its uid, its open-file limit and `fds` open files (replacing what was there).
  void process(const std::string& who, int uid, uint64_t nofile, int fds) {
    write("proc/" + who + "/status",
          "Name:\tx\nUid:\t" + std::to_string(uid) + "\t" + std::to_string(uid) + "\t0\t0\n");
    write("proc/" + who + "/limits",
          "Limit                     Soft Limit           Hard Limit           Units     \n"
          "Max processes             95000                95000                processes \n"
          "Max open files            " +
              std::to_string(nofile) + "                " + std::to_string(nofile) + "              files     \n");
    fs::remove_all(root / "proc" / who / "fd");
    fs::create_directories(root / "proc" / who / "fd");
    for (int fd = 0; fd < fds; ++fd) fs::create_symlink("/dev/null", root / "proc" / who / "fd" / std::to_string(fd));
  }
  void write_link(const std::string& rel, const std::string& target) {
    fs::create_directories((root / rel).parent_path());
    fs::create_symlink(target, root / rel);
  }
  // An fd of proc/<pid> that links to `kind`, with fdinfo lines.
  void fd(const std::string& pid, int n, const std::string& kind, const std::string& fdinfo) {
    fs::create_directories(root / "proc" / pid / "fd");
    fs::create_symlink(kind, root / "proc" / pid / "fd" / std::to_string(n));
    write("proc/" + pid + "/fdinfo/" + std::to_string(n), "pos:\t0\nflags:\t02000000\n" + fdinfo);
  }

  DensityReport assess() const { return assess_density(in); }
};

const DensityLimit& find(const DensityReport& r, const std::string& name) {
  for (const auto& l : r.limits)
    if (l.name == name) return l;
  FAIL("no limit " << name);
  throw;
}

}  // namespace

TEST_CASE("a roomy host is capped by SoulBox's id slots alone", "[density]") {
  FakeHost host;
  const auto r = host.assess();
  CHECK(r.limits.size() == 18);
  CHECK(r.binding().name == "SoulBox id slots");
  CHECK(r.cap() == 23550);
  CHECK(density_warnings(r).empty());
  CHECK(density_summary(r).rfind("density: this node can hold 23550 sandboxes; capped by SoulBox id slots (23550); "
                                 "raise it with nothing raises it",
                                 0) == 0);
  const auto& pids = find(r, "kernel.pid_max");
  CHECK(pids.in_use == 200);
  CHECK(pids.sandboxes == 4194304 - 200);
  CHECK(pids.remedy == "nothing: kernel.pid_max is at the kernel's maximum");
  host.sysctl("kernel.pid_max", "32768");
  CHECK(find(host.assess(), "kernel.pid_max").remedy == "sysctl -w kernel.pid_max=4194304");
  CHECK(find(r, "fs.inotify.max_user_watches").sandboxes == kUnlimited);  // an idle sandbox watches nothing
  CHECK(find(r, "RLIMIT_NOFILE of soulboxd").in_use == 10 + 1024);
  CHECK(find(r, "RLIMIT_NOFILE of the launcher").sandboxes == (1048576 - 9 - 64) / 3);
}

TEST_CASE("each host limit can be the one that caps density and its remedy names the setting", "[density]") {
  struct Case {
    std::string limit;
    uint64_t sandboxes;
    std::string remedy;
  };
  FakeHost host;
  Case c;
  SECTION("kernel.pid_max") {
    host.sysctl("kernel.pid_max", "9000");
    c = {"kernel.pid_max", 9000 - 200, "sysctl -w kernel.pid_max=4194304"};
  }
  SECTION("kernel.threads-max") {
    host.sysctl("kernel.threads-max", "5000");
    c = {"kernel.threads-max", 5000 - 200, "sysctl -w kernel.threads-max=16384"};
  }
  SECTION("user namespaces switched off") {
    host.sysctl("user.max_user_namespaces", "0");
    c = {"user.max_user_namespaces", 0, "sysctl -w user.max_user_namespaces=16384"};
  }
  SECTION("network namespaces") {
    host.sysctl("user.max_net_namespaces", "500");
    c = {"user.max_net_namespaces", 500, "sysctl -w user.max_net_namespaces=16384"};
  }
  SECTION("cgroup namespaces") {
    host.sysctl("user.max_cgroup_namespaces", "700");
    c = {"user.max_cgroup_namespaces", 700, "sysctl -w user.max_cgroup_namespaces=16384"};
  }
  SECTION("inotify instances of sandboxes that watch, less those root's processes hold") {
    host.in.costs.inotify_instances = 1;  // an idle sandbox holds none; one that watches holds one
    host.sysctl("fs.inotify.max_user_instances", "128");
    host.process("1", 0, 1024, 0);
    host.fd("1", 7, "anon_inode:inotify", "inotify wd:1 ino:2 sdev:3\ninotify wd:2 ino:4 sdev:3\n");
    host.fd("1", 8, "anon_inode:inotify", "");
    host.fd("1", 9, "anon_inode:inotify", "inotify wd:1 ino:5 sdev:3\n");
    host.process("77", 1000, 1024, 0);  // another user's instances are its own
    host.fd("77", 3, "anon_inode:inotify", "");
    // A process in a user namespace (another node's sandbox): charged to
    // root, who made the namespace, whatever its uid.
    host.write_link("proc/self/ns/user", "user:[4026531837]");
    host.write_link("proc/1/ns/user", "user:[4026531837]");
    host.write_link("proc/77/ns/user", "user:[4026531837]");
    host.process("90", 603979776, 1024, 0);
    host.write_link("proc/90/ns/user", "user:[4026532795]");
    host.fd("90", 6, "anon_inode:inotify", "inotify wd:1 ino:9 sdev:3\n");
    host.fd("90", 7, "anon_inode:[eventpoll]", "tfd: 3 events: 19 data: 3\n");  // its own uid's
    c = {"fs.inotify.max_user_instances", 128 - 4, "sysctl -w fs.inotify.max_user_instances=16384"};
    const auto r = host.assess();
    CHECK(find(r, "fs.inotify.max_user_watches").in_use == 4);
    CHECK(find(r, "fs.epoll.max_user_watches").in_use == 0);
  }
  SECTION("epoll watches of root") {
    host.sysctl("fs.epoll.max_user_watches", "1000");
    host.process("1", 0, 1024, 0);
    host.fd("1", 5, "anon_inode:[eventpoll]", "tfd:        3 events:       19 data:  3\ntfd:  4 events: 19 data: 4\n");
    c = {"fs.epoll.max_user_watches", 998, "sysctl -w fs.epoll.max_user_watches=16384"};
  }
  SECTION("fs.file-max") {
    host.sysctl("fs.file-max", "100000");
    c = {"fs.file-max", (100000 - 1000) / 13, "sysctl -w fs.file-max=131072"};
  }
  SECTION("soulboxd's open-file limit") {
    host.process("self", 0, 4096, 10);
    c = {"RLIMIT_NOFILE of soulboxd", (4096 - 10 - 1024) / 2,
         "LimitNOFILE=32768 in soulboxd's systemd unit (or ulimit -n 32768 before starting it)"};
  }
  SECTION("the launcher's open-file limit, past fs.nr_open") {
    host.sysctl("fs.nr_open", "20000");
    host.process(std::to_string(kLauncher), 0, 8192, 9);
    c = {"RLIMIT_NOFILE of the launcher", (8192 - 9 - 64) / 3,
         "sysctl -w fs.nr_open=32768, then LimitNOFILE=32768 in soulboxd's systemd unit (or ulimit -n 32768 before "
         "starting it)"};
  }
  SECTION("cgroup v1 memory cgroups, dying ones included") {
    host.write("proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t4\t65000\t1\n");
    c = {"memory cgroup ids", 65535 - 65000, "nothing raises it (the kernel's memcg ids are 16-bit)"};
  }
  SECTION("cgroup v2 memory cgroups from cgroup.stat") {
    host.in.cgroup_v2 = true;
    host.write("cgroup/cgroup.stat",
               "nr_descendants 60010\nnr_dying_descendants 5000\nnr_subsys_cpu 30\nnr_subsys_memory 60000\n"
               "nr_dying_subsys_cpu 0\nnr_dying_subsys_memory 5000\n");
    c = {"memory cgroup ids", 535, "nothing raises it"};
  }
  SECTION("cgroup v2 memory cgroups before Linux 6.11: every group counts") {
    host.in.cgroup_v2 = true;
    host.write("cgroup/cgroup.stat", "nr_descendants 60010\nnr_dying_descendants 5000\n");
    host.write("proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t65011\t1\n");
    c = {"memory cgroup ids", 524, "nothing raises it"};
  }
  SECTION("the kernel's pty pool, at its defaults, less the host's terminals") {
    host.sysctl("kernel.pty.max", "4096");
    host.sysctl("kernel.pty.nr", "16");
    c = {"kernel.pty.max", (4096 - 1024 - 16) / 8, "sysctl -w kernel.pty.max=131072"};
  }
  SECTION("SoulBox's id slots, some taken by /etc/subuid entries") {
    host.in.id_slots = 9000;
    c = {"SoulBox id slots", 9000, "/etc/subuid"};
  }
  const auto r = host.assess();
  INFO(density_summary(r));
  CHECK(r.binding().name == c.limit);
  CHECK(r.cap() == c.sandboxes);
  CHECK(r.binding().remedy.find(c.remedy) != std::string::npos);
  CHECK(density_summary(r) == "density: this node can hold " + std::to_string(c.sandboxes) + " sandboxes; capped by " +
                                  c.limit + " (" + std::to_string(r.binding().value) + "); raise it with " +
                                  r.binding().remedy);
  const auto warnings = density_warnings(r);
  REQUIRE(warnings.size() == 1);  // only the lowered limit is below 10,000 (or was lowered to it)
  CHECK(warnings[0].find(c.limit + " = " + std::to_string(r.binding().value)) != std::string::npos);
  CHECK(warnings[0].find("raise it with " + r.binding().remedy) != std::string::npos);
}

TEST_CASE("a Debian 12 host at its defaults is capped by the pty pool", "[density]") {
  FakeHost host;
  // This machine's figures (24 GiB, 2 cores, kernel 6.x, cgroup v1).
  host.sysctl("kernel.pid_max", "32768");
  host.sysctl("kernel.threads-max", "192735");
  for (const char* kind : {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup"})
    host.sysctl(std::string("user.max_") + kind + "_namespaces", "96367");
  host.sysctl("fs.inotify.max_user_instances", "128");
  host.sysctl("fs.inotify.max_user_watches", "192540");
  host.sysctl("fs.file-max", "2466239");
  host.sysctl("kernel.pty.max", "4096");
  host.process("self", 0, 20000, 24);
  host.process(std::to_string(kLauncher), 0, 20000, 9);
  const auto r = host.assess();
  CHECK(r.binding().name == "kernel.pty.max");
  CHECK(r.cap() == (4096 - 1024) / 8);
  // Idle sandboxes hold no inotify instance (the agent opens one for its
  // first watch), so root's 128 do not cap how many a node holds.
  CHECK(find(r, "fs.inotify.max_user_instances").sandboxes == kUnlimited);
  const auto warnings = density_warnings(r);
  std::vector<std::string> named;
  for (const auto& w : warnings) named.push_back(w.substr(0, w.find(" = ")));
  CHECK(named == std::vector<std::string>{"density: RLIMIT_NOFILE of soulboxd",
                                          "density: RLIMIT_NOFILE of the launcher", "density: kernel.pty.max"});
}

TEST_CASE("limits whose files are missing are left out", "[density]") {
  DensityInputs in;
  in.proc = "/nonexistent";
  in.cgroup_root = "/nonexistent";
  in.id_slots = 23550;
  const auto r = assess_density(in);
  REQUIRE(r.limits.size() == 1);
  CHECK(r.binding().name == "SoulBox id slots");
  DensityReport none;
  CHECK(none.cap() == kUnlimited);
  CHECK(density_summary(none) == "density: no host limit caps this node's sandboxes (none could be read)");
}

TEST_CASE("the live host's limits are read", "[density]") {
  DensityInputs in;
  in.cgroup_v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers");
  const auto r = assess_density(in);
  INFO(density_summary(r));
  CHECK(r.limits.size() >= 15);
  CHECK(r.cap() > 0);
  CHECK(find(r, "kernel.pid_max").in_use > 0);
  CHECK(find(r, "memory cgroup ids").in_use > 0);
}

TEST_CASE("the open-file soft limit is raised to the hard limit", "[density]") {
  struct rlimit before {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  auto raised = raise_open_file_limit();
  REQUIRE(raised.ok());
  struct rlimit after {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(raised->before == before.rlim_cur);
  CHECK(raised->after == after.rlim_max);
  CHECK(after.rlim_cur == after.rlim_max);
}

TEST_CASE("the pty pool bounds how many sandboxes a node admits", "[density][pty]") {
  CHECK(sandboxes_within_pty_pool(PtyPool{4096, 1024, 0}, 8) == 384);
  CHECK(sandboxes_within_pty_pool(PtyPool{4096, 1024, 24}, 8) == 381);
  CHECK(sandboxes_within_pty_pool(PtyPool{1u << 20, 1024, 0}, 8) == 130944);
  CHECK(sandboxes_within_pty_pool(PtyPool{1024, 1024, 0}, 8) == 0);
  CHECK(sandboxes_within_pty_pool(PtyPool{4096, 1024, 4000}, 8) == 0);
  CHECK(sandboxes_within_pty_pool(PtyPool{4096, 1024, 0}, 0) == 0);
}
