// Hostile programs that try to exhaust the host. Each test asserts that the
// attack was contained, that a neighbour sandbox still works, and that the
// teardown left nothing behind. Every bomb is bounded in size so a broken
// sandbox cannot take the host down (docs/SECURITY.md, how it is tested).
#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

namespace {

isolation::SandboxSpec small_spec() {
  isolation::SandboxSpec spec;
  spec.limits.memory_bytes = 96u << 20;
  spec.limits.pids = 48;
  spec.limits.disk_bytes = 16u << 20;
  spec.limits.disk_inodes = 2048;
  spec.limits.tmp_bytes = 16u << 20;
  spec.limits.nofile = 256;
  return spec;
}

// Destroys the box and checks that nothing of it is left on the host.
void destroy_and_check(Box& box) {
  const std::string id = box.sandbox->id();
  const uint32_t base = box.sandbox->host_id_base();
  REQUIRE(box.sandbox->destroy().ok());
  auto l = leftovers_of(id, base);
  INFO("leftover processes: " << l.processes.size());
  CHECK(clean(l));
}

void neighbour_works(Box& neighbour) {
  auto r = neighbour.run({"/usr/bin/python3", "-c", "print(sum(range(10)))"});
  CHECK(r.out == "45\n");
}

}  // namespace

TEST_CASE("the pids limit holds, then a fork bomb is contained", "[security][bomb]") {
  auto neighbour = make_box();
  auto box = make_box(small_spec());
  // A bounded probe first: if this fails the real bomb is not started.
  auto probe = box.run({"/opt/probes/probe", "processes", "200"});
  REQUIRE_THAT(probe.out, Catch::StartsWith("processes="));
  const int made = std::stoi(probe.out.substr(10));
  REQUIRE(made < 48);
  REQUIRE(made > 10);
  REQUIRE(box.client->kill_all().ok());

  ProcessSpec bomb;
  bomb.argv = {"/opt/probes/probe", "forkbomb"};
  bomb.timeout_ms = 1500;
  auto r = box.client->run(bomb, 20000);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  REQUIRE(box.client->kill_all().ok());
  auto usage = box.sandbox->cgroup().usage();
  REQUIRE(usage.ok());
  CHECK(usage->pids_current <= 48);
  neighbour_works(neighbour);
  destroy_and_check(box);
}

TEST_CASE("a thread bomb stops at the pids limit", "[security][bomb]") {
  auto box = make_box(small_spec());
  auto r = box.run({"/opt/probes/probe", "threads", "5000"});
  CHECK_THAT(r.out, Catch::Contains("error=EAGAIN"));
  const int made = std::stoi(r.out.substr(8));
  CHECK(made < 48);
  CHECK(box.run({"/bin/echo", "ok"}).out == "ok\n");
  destroy_and_check(box);
}

TEST_CASE("a memory bomb is killed at the memory limit", "[security][bomb]") {
  auto neighbour = make_box();
  auto box = make_box(small_spec());
  // Asks for 4x the limit, bounded at 384 MiB so a broken limit cannot hurt the host.
  auto r = box.run({"/opt/probes/probe", "memory", "384"});
  CHECK(r.signal == 9);
  CHECK_THAT(r.out, !Catch::Contains("allocated"));
  auto usage = box.sandbox->cgroup().usage();
  REQUIRE(usage.ok());
  CHECK(usage->memory_peak <= (96u << 20));
  CHECK(usage->oom_kills >= 1);
  CHECK(box.run({"/bin/echo", "still here"}).out == "still here\n");
  neighbour_works(neighbour);
  destroy_and_check(box);
}

TEST_CASE("disk and inode exhaustion stop at the sandbox's own limits", "[security][bomb]") {
  auto box = make_box(small_spec());
  // 64 MiB into a 16 MiB root layer.
  auto disk = box.sh("dd if=/dev/zero of=/home/user/fill bs=1M count=64 2>&1; echo rc=$?");
  CHECK_THAT(disk.out, Catch::Contains("No space left on device"));
  auto tmp = box.sh("dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1; echo rc=$?");
  CHECK_THAT(tmp.out, Catch::Contains("No space left on device"));
  // 8192 files into a 2048-inode layer.
  auto inodes = box.sh(
      "cd /home/user && rm -f fill && i=0; while [ $i -lt 8192 ]; do printf '' > f$i || break; i=$((i+1)); done; echo "
      "made=$i");
  CHECK_THAT(inodes.out, Catch::Contains("made="));
  const int made = std::stoi(inodes.out.substr(inodes.out.find("made=") + 5));
  CHECK(made < 2048);
  CHECK_THAT(inodes.err, Catch::Contains("No space left on device"));
  // The host data dir holds no sandbox data: the layer lives in the sandbox's own tmpfs.
  auto du = run_host({"/usr/bin/du", "-s", "-k", data_dir() + "/sandboxes"});
  CHECK(std::stoi(du.out) < 1024);
  destroy_and_check(box);
}

TEST_CASE("inode floods in /tmp and /dev/shm stop at the sandbox's inode cap", "[security][bomb]") {
  auto box = make_box();  // default limits: 16384 inodes each
  auto neighbour = make_box();
  const isolation::Limits defaults;
  // 20000 empty files: no bytes, only inodes (kernel memory without a cap).
  for (const std::string dir : {"/tmp", "/dev/shm"}) {
    auto r = box.sh(
        "python3 -c \"\nimport os\nmade = 0\ntry:\n    for i in range(20000):\n        open('" + dir +
        "/f%d' % i, 'w').close(); made += 1\nexcept OSError as e:\n    print(e.strerror)\nprint('made=%d' % made)\n\"");
    INFO(dir << ": " << r.out << r.err);
    REQUIRE_THAT(r.out, Catch::Contains("made="));
    const uint64_t made = std::stoull(r.out.substr(r.out.find("made=") + 5));
    CHECK(made < defaults.tmp_inodes);
    CHECK_THAT(r.out, Catch::Contains("No space left on device"));
  }
  neighbour_works(neighbour);
  destroy_and_check(box);
}

TEST_CASE("a pty flood stops at the sandbox's pty cap", "[security][bomb]") {
  // Every devpts instance but the host's draws on one kernel-wide pool
  // (kernel.pty.max): a sandbox may hold only a few of it. 64 is far below
  // the pool, so a broken cap costs the host nothing lasting.
  auto box = make_box();
  auto neighbour = make_box();
  const isolation::Limits defaults;
  auto r = box.sh(
      "python3 -c \"\nimport os\nfds = []\ntry:\n    for i in range(64):\n        fds.append(os.openpty())\nexcept "
      "OSError as e:\n    print(e.strerror)\nprint('opened=%d' % len(fds))\n\"");
  INFO(r.out << r.err);
  REQUIRE_THAT(r.out, Catch::Contains("opened="));
  CHECK(std::stoul(r.out.substr(r.out.find("opened=") + 7)) <= defaults.ptys);
  // The neighbour still gets a terminal of its own.
  CHECK(neighbour.sh("python3 -c 'import os; os.openpty(); print(\"ok\")'").out == "ok\n");
  destroy_and_check(box);
}

TEST_CASE("a stdout flood is cut at the output limit and reported", "[security][bomb]") {
  auto box = make_box(small_spec());
  ProcessSpec spec;
  spec.argv = {"/opt/probes/probe", "flood", "64"};
  spec.output_limit = 1u << 20;
  size_t streamed = 0;
  auto r = box.client->run(spec, 60000, [&](agentproto::Stream, const std::string& d) { streamed += d.size(); });
  REQUIRE(r.ok());
  CHECK(r->truncated);
  CHECK(r->exit_code == 0);
  CHECK(streamed == (1u << 20));
  CHECK(r->out.size() == (1u << 20));
  CHECK(box.run({"/bin/echo", "ok"}).out == "ok\n");
  destroy_and_check(box);
}

TEST_CASE("a CPU spin past its timeout is killed", "[security][bomb]") {
  auto neighbour = make_box();
  auto box = make_box(small_spec());
  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", "-c", "while True: pass"};
  spec.timeout_ms = 500;
  auto r = box.client->run(spec, 20000);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  CHECK(r->signal == 9);
  CHECK(r->wall_us < 3000000);
  neighbour_works(neighbour);
  destroy_and_check(box);
}

TEST_CASE("fd exhaustion stops at RLIMIT_NOFILE and the agent is unaffected", "[security][bomb]") {
  auto box = make_box(small_spec());
  auto r = box.run({"/opt/probes/probe", "open-files", "100000"});
  CHECK_THAT(r.out, Catch::Contains("error=EMFILE"));
  const int opened = std::stoi(r.out.substr(7));
  CHECK(opened < 256);
  CHECK(box.run({"/bin/echo", "ok"}).out == "ok\n");
  destroy_and_check(box);
}

TEST_CASE("a zombie storm is reaped by the agent", "[security][bomb]") {
  auto box = make_box(small_spec());
  for (int round = 0; round < 5; ++round) {
    auto r = box.run({"/opt/probes/probe", "zombies", "30"});
    CHECK(r.out == "zombies=30\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto usage = box.sandbox->cgroup().usage();
  REQUIRE(usage.ok());
  CHECK(usage->pids_current <= 2);
  CHECK(box.sh("cat /proc/[0-9]*/stat | grep -c ' Z '").out == "0\n");
  destroy_and_check(box);
}

TEST_CASE("a double-forked daemon does not survive the sandbox", "[security][bomb]") {
  auto box = make_box(small_spec());
  auto r = box.run({"/opt/probes/probe", "daemon"});
  CHECK(r.exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto alive = box.sh("cat /proc/[0-9]*/comm | grep -c probe");
  CHECK(alive.out == "1\n");  // the daemon runs on, detached
  const std::string id = box.sandbox->id();
  const uint32_t base = box.sandbox->host_id_base();
  CHECK(leftovers_of(id, base).processes.size() >= 2);
  destroy_and_check(box);
}
