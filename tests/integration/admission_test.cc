// Admission by use on a real soulboxd: limits overcommitted, real memory
// use refused, the sandboxes' parent cgroup capped, and soulboxd and its
// helpers kept out of the OOM killer's reach while sandboxes cannot follow.
// Each test has a cgroup parent of its own: the cap must not touch the
// groups of daemons other tests run at the same time.
#include <dirent.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_env.h"
#include "tests/support/eventually.h"

namespace {

using namespace soulbox;
using test::Daemon;
using test::eventually;

constexpr uint64_t MiB = 1ull << 20;

ProcessSpec sh(const std::string& script) {
  ProcessSpec s;
  s.argv = {"/bin/sh", "-c", script};
  return s;
}

std::string read_trimmed(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

std::string own_parent(const char* what) {
  return "soulbox-test-" + std::string(what) + "-" + std::to_string(::getpid());
}

bool cgroup_v2() {
  return ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

std::string memory_dir_of(const std::string& parent) {
  return cgroup_v2() ? "/sys/fs/cgroup/" + parent : "/sys/fs/cgroup/memory/" + parent;
}

// Removes a test's cgroup parent in every hierarchy once its daemon is gone.
struct ParentCleanup {
  std::string parent;
  ~ParentCleanup() {
    if (cgroup_v2()) {
      ::rmdir(("/sys/fs/cgroup/" + parent).c_str());
      return;
    }
    for (const char* c : {"memory", "cpu,cpuacct", "cpu", "cpuacct", "pids", "freezer", "blkio"})
      ::rmdir(("/sys/fs/cgroup/" + std::string(c) + "/" + parent).c_str());
  }
};

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(tasks.c_str());
  if (!dir) return out;
  while (auto* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(tasks + "/" + e->d_name + "/children");
    pid_t child;
    while (in >> child) out.push_back(child);
  }
  ::closedir(dir);
  return out;
}

}  // namespace

TEST_CASE("a node admits sandboxes by what they use and refuses once they really use its memory", "[daemon][density]") {
  ParentCleanup cleanup{own_parent("admission")};
  Daemon d({"--cgroup-parent", cleanup.parent, "--pool-min", "0", "--jobs-workers", "0", "--memory-capacity", "512",
            "--new-sandbox-memory", "64"});
  auto& c = d.client();
  // The kernel holds what the sandboxes use together to the capacity.
  CHECK(read_trimmed(memory_dir_of(cleanup.parent) + (cgroup_v2() ? "/memory.max" : "/memory.limit_in_bytes")) ==
        std::to_string(512 * MiB));

  // 3.5 GiB of limits on a node that gives sandboxes 512 MiB: each counts
  // 64 MiB until measured, then what it uses.
  client::CreateOptions big;
  big.memory_bytes = 512 * MiB;
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    auto info = c.create(big);
    INFO("create " << i << ": " << (info ? "" : info.error().message));
    REQUIRE(info.ok());
    ids.push_back(info->id);
  }
  auto health = c.health(d.node());
  REQUIRE(health.ok());
  CHECK(health->memory_capacity_bytes == 512 * MiB);
  // Once measured, seven idle sandboxes leave most of it free.
  CHECK(eventually([&] {
    auto h = c.health(d.node());
    return h.ok() && h->memory_free_bytes > 400 * MiB;
  }));

  // One of them really uses 440 MiB: the node has less than a new sandbox's
  // 64 MiB left and says so.
  auto hog = c.start(ids[0], sh("python3 -c 'b = bytearray(440 << 20)\n"
                                "for i in range(0, len(b), 4096): b[i] = 1\n"
                                "import time; time.sleep(120)'"));
  REQUIRE(hog.ok());
  std::string refusal;
  CHECK(eventually(
      [&] {
        auto r = c.create(big);
        if (r.ok()) {
          (void)c.kill(r->id);
          return false;
        }
        refusal = r.error().message;
        return r.error().code == ErrorCode::resource_exhausted;
      },
      20000));
  INFO(refusal);
  CHECK((refusal.find("short of memory") != std::string::npos || refusal.find("none with room") != std::string::npos));
  // Its memory given back, the node takes sandboxes again.
  REQUIRE(c.kill(ids[0]).ok());
  CHECK(eventually([&] {
    auto r = c.create(big);
    if (r.ok()) ids.push_back(r->id);
    return r.ok();
  }));
  for (size_t i = 1; i < ids.size(); ++i) CHECK(c.kill(ids[i]).ok());
}

// Whether root may lower a score here (CAP_SYS_RESOURCE in the bounding
// set: some container hosts drop it).
bool host_allows_oom_protection() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("CapBnd:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> 24) & 1;  // CAP_SYS_RESOURCE
  return false;
}

TEST_CASE("the OOM killer prefers sandboxes to soulboxd and its helpers, and sandboxes cannot change that",
          "[daemon][density][security]") {
  Daemon d({"--pool-min", "0", "--jobs-workers", "0"});
  const std::string daemon_score = read_trimmed("/proc/" + std::to_string(d.pid()) + "/oom_score_adj");
  const auto children = children_of(d.pid());
  CHECK(children.size() >= 2);  // the launcher and the embedded nats-server
  if (host_allows_oom_protection()) {
    CHECK(daemon_score == "-1000");
    for (pid_t child : children) {
      INFO("child " << child << " " << read_trimmed("/proc/" + std::to_string(child) + "/comm"));
      CHECK(read_trimmed("/proc/" + std::to_string(child) + "/oom_score_adj") == "-1000");
    }
  } else {
    WARN("this host drops CAP_SYS_RESOURCE: soulboxd keeps score " << daemon_score << " and says so");
    CHECK(d.output().find("not protected from the OOM killer") != std::string::npos);
  }
  auto sb = d.client().create({});
  REQUIRE(sb.ok());
  auto score = d.client().run(sb->id, sh("cat /proc/self/oom_score_adj"));
  REQUIRE(score.ok());
  CHECK(score->out == "300\n");
  // Lowering it needs CAP_SYS_RESOURCE in the host's namespace. Bounded: a
  // write to the sandbox's own score, which only the sandbox's processes
  // carry.
  auto lower = d.client().run(sb->id, sh("echo -1000 > /proc/self/oom_score_adj"));
  REQUIRE(lower.ok());
  CHECK(lower->exit_code != 0);
  auto after = d.client().run(sb->id, sh("cat /proc/self/oom_score_adj"));
  REQUIRE(after.ok());
  CHECK(after->out == "300\n");
  CHECK(d.client().kill(sb->id).ok());
}

TEST_CASE("a process the OOM killer takes is reported with its sandbox and why", "[daemon][density]") {
  ParentCleanup cleanup{own_parent("oom")};
  Daemon d({"--cgroup-parent", cleanup.parent, "--pool-min", "0", "--jobs-workers", "0", "--memory-capacity", "256"});
  auto& c = d.client();
  const std::string hog = "exec python3 -c 'b = bytearray(400 << 20)'";  // bounded: 400 MiB, capped lower

  // Its own limit: 64 MiB.
  client::CreateOptions small;
  small.memory_bytes = 64 * MiB;
  auto own = c.create(small);
  REQUIRE(own.ok());
  auto killed = c.run(own->id, sh(hog));
  REQUIRE(killed.ok());
  INFO("exit " << killed->exit_code << " signal " << killed->signal << ": " << killed->err);
  CHECK(killed->signal == 9);
  // The node's memory: two sandboxes of 256 MiB each on a node that gives
  // sandboxes 256 MiB together; one holds 150 MiB, the other asks for as
  // much. The kernel takes one of the two.
  client::CreateOptions half;
  half.memory_bytes = 256 * MiB;
  auto holder = c.create(half);
  auto crowded = c.create(half);
  REQUIRE(holder.ok());
  REQUIRE(crowded.ok());
  const std::string hold =
      "python3 -c 'b = bytearray(150 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
      "import time; time.sleep(30)'";
  auto holding = c.start(holder->id, sh(hold));
  REQUIRE(holding.ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto squeezed = c.run(crowded->id, sh(hold));
  REQUIRE(squeezed.ok());

  auto oom_kills = [&](const std::string& id) {
    auto samples = c.metrics(id);
    return samples.ok() && !samples->empty() ? samples->back().oom_kills() : 0u;
  };
  CHECK(eventually([&] { return oom_kills(own->id) >= 1 && oom_kills(holder->id) + oom_kills(crowded->id) >= 1; }));
  const std::string log = d.output();
  CHECK(log.find(own->id + ": the OOM killer took 1 process(es): its memory limit of 64 MiB") != std::string::npos);
  const std::string victim = oom_kills(holder->id) ? holder->id : crowded->id;
  CHECK(log.find(victim + ": the OOM killer took 1 process(es): the node's memory") != std::string::npos);
  // Both sandboxes go on.
  for (const auto& id : {own->id, holder->id, crowded->id}) {
    auto alive = c.run(id, sh("echo alive"));
    REQUIRE(alive.ok());
    CHECK(alive->out == "alive\n");
    CHECK(c.kill(id).ok());
  }
}
