// The cgroup v2 driver against a fake cgroup tree (plain files in a temp dir).
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "isolation/cgroup.h"

namespace fs = std::filesystem;
using namespace soulbox::isolation;

namespace {

struct FakeTree {
  fs::path root;
  FakeTree() {
    char tmpl[] = "/tmp/soulbox-cg2-XXXXXX";
    root = ::mkdtemp(tmpl);
    touch(root / "cgroup.controllers", "cpuset cpu io memory pids\n");
    touch(root / "cgroup.subtree_control", "");
  }
  ~FakeTree() { fs::remove_all(root); }
  static void touch(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // What the kernel would create on mkdir of a group.
  fs::path group(const std::string& name) {
    const fs::path dir = root / "soulbox" / name;
    fs::create_directories(dir);
    touch(root / "soulbox" / "cgroup.subtree_control", "");
    for (const char* f :
         {"memory.max", "memory.swap.max", "cpu.max", "pids.max", "cgroup.procs", "cgroup.freeze", "cgroup.kill"})
      touch(dir / f, "");
    touch(dir / "memory.current", "1234\n");
    touch(dir / "memory.peak", "4096\n");
    touch(dir / "pids.current", "3\n");
    touch(dir / "cpu.stat", "usage_usec 777\nuser_usec 700\nsystem_usec 77\n");
    touch(dir / "memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
    return dir;
  }
};

}  // namespace

TEST_CASE("a fake cgroup2 tree is detected as v2", "[unit][cgroup]") {
  FakeTree t;
  auto driver = detect_cgroup_driver(t.root.string(), "soulbox");
  REQUIRE(driver.ok());
  CHECK(std::string((*driver)->version()) == "v2");
}

TEST_CASE("cgroup v2 writes limits, attaches, freezes and reads usage", "[unit][cgroup]") {
  FakeTree t;
  const fs::path dir = t.group("sb1");
  auto driver = make_cgroup_v2_driver(t.root.string(), "soulbox");
  auto cg = driver->create("sb1", CgroupLimits{64ull << 20, 0.5, 32});
  REQUIRE(cg.ok());
  CHECK(FakeTree::read(dir / "memory.max") == std::to_string(64ull << 20));
  CHECK(FakeTree::read(dir / "memory.swap.max") == "0");
  CHECK(FakeTree::read(dir / "cpu.max") == "50000 100000");
  CHECK(FakeTree::read(dir / "pids.max") == "32");
  CHECK(FakeTree::read(t.root / "cgroup.subtree_control") == "+memory +cpu +pids");
  CHECK(FakeTree::read(t.root / "soulbox" / "cgroup.subtree_control") == "+memory +cpu +pids");

  REQUIRE((*cg)->attach(4242).ok());
  CHECK(FakeTree::read(dir / "cgroup.procs") == "4242");
  REQUIRE((*cg)->freeze().ok());
  CHECK(FakeTree::read(dir / "cgroup.freeze") == "1");
  REQUIRE((*cg)->thaw().ok());
  CHECK(FakeTree::read(dir / "cgroup.freeze") == "0");

  auto u = (*cg)->usage();
  REQUIRE(u.ok());
  CHECK(u->memory_current == 1234);
  CHECK(u->memory_peak == 4096);
  CHECK(u->pids_current == 3);
  CHECK(u->cpu_usec == 777);
  CHECK(u->oom_kills == 1);
}

TEST_CASE("cgroup v2 kill_all writes cgroup.kill", "[unit][cgroup]") {
  FakeTree t;
  const fs::path dir = t.group("sb2");
  auto driver = make_cgroup_v2_driver(t.root.string(), "soulbox");
  auto cg = driver->create("sb2", CgroupLimits{64ull << 20, 1.0, 32});
  REQUIRE(cg.ok());
  REQUIRE((*cg)->kill_all().ok());  // cgroup.procs is empty in the fake tree
  CHECK(FakeTree::read(dir / "cgroup.kill") == "1");
}

TEST_CASE("cgroup v2 reports a missing control file with its path", "[unit][cgroup]") {
  FakeTree t;
  const fs::path dir = t.group("sb3");
  fs::remove(dir / "pids.max");
  auto driver = make_cgroup_v2_driver(t.root.string(), "soulbox");
  auto cg = driver->create("sb3", CgroupLimits{64ull << 20, 1.0, 32});
  REQUIRE_FALSE(cg.ok());
  CHECK_THAT(cg.error().message, Catch::Contains("pids.max"));
}

TEST_CASE("cgroup v2 reads what all sandboxes use and caps it in their parent", "[unit][cgroup]") {
  FakeTree t;
  t.group("sb1");
  const fs::path parent = t.root / "soulbox";
  FakeTree::touch(parent / "memory.current", "104857600\n");
  FakeTree::touch(parent / "memory.stat",
                  "anon 50000000\nfile 54857600\nactive_file 4857600\ninactive_file 50000000\n");
  FakeTree::touch(parent / "memory.max", "max\n");
  auto driver = make_cgroup_v2_driver(t.root.string(), "soulbox");
  auto used = driver->sandboxes_memory_in_use();
  REQUIRE(used.ok());
  CHECK(*used == 104857600 - 50000000);  // inactive page cache is not counted
  REQUIRE(driver->cap_sandboxes_memory(1ull << 30).ok());
  CHECK(FakeTree::read(parent / "memory.max") == "1073741824");
}

TEST_CASE("cgroup v2 tells an OOM at the sandbox's own limit from one at the node's", "[unit][cgroup]") {
  FakeTree t;
  const fs::path dir = t.group("sb1");  // memory.events: oom 1
  auto cg = make_cgroup_v2_driver(t.root.string(), "soulbox")->open("sb1");
  CHECK(cg->memory_limit_reached_since_last_check());        // the first oom at its own limit
  CHECK_FALSE(cg->memory_limit_reached_since_last_check());  // nothing new: a kill now was the node's
  FakeTree::touch(dir / "memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\n");
  CHECK(cg->memory_limit_reached_since_last_check());
}
