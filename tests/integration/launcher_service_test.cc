// The launcher service: sandboxes for a multi-threaded process. This binary
// starts threads on purpose; the launcher is forked before them.
#include "isolation/launcher_service.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "agent/client/agent_client.h"

using namespace soulbox;
using namespace soulbox::isolation;

namespace {

struct Service {
  std::string dir;
  RuntimeOptions options;
  std::unique_ptr<LauncherClient> launcher;
  Service() {
    char tmpl[] = "/tmp/soulbox-test-launch-XXXXXX";
    dir = ::mkdtemp(tmpl);
    RuntimeOptions o;
    o.data_dir = dir;
    o.cgroup_parent = "soulbox-test";
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    o.agent_path = std::filesystem::path(std::string(self, size_t(n))).parent_path().parent_path() / "soulbox-agent";
    options = o;
    respawn();
  }
  void respawn() {
    auto l = LauncherClient::spawn(options);  // forks: fine from here, the child only uses its own state
    INFO((l ? "" : l.error().message));
    REQUIRE(l.ok());
    launcher = std::move(*l);
  }
  ~Service() {
    launcher.reset();
    std::filesystem::remove_all(dir);
  }
};

bool exited(int pidfd, int timeout_ms) {
  struct pollfd p {
    pidfd, POLLIN, 0
  };
  return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

TEST_CASE("threads create, use and destroy sandboxes through the launcher", "[integration][launcher]") {
  Service s;
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto sb = s.launcher->create({});
      if (!sb) {
        outputs[size_t(t)] = "create failed: " + sb.error().message;
        return;
      }
      AgentClient client(sb->channel.get());
      if (!client.handshake()) return;
      ProcessSpec spec;
      spec.argv = {"/bin/sh", "-c", "echo thread-" + std::to_string(t) + " $(hostname)"};
      auto r = client.run(spec);
      outputs[size_t(t)] = r ? r->out : r.error().message;
      (void)s.launcher->destroy(sb->id);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) CHECK(outputs[size_t(t)] == "thread-" + std::to_string(t) + " soulbox\n");
}

TEST_CASE("the launcher reports usage, freezes and refuses unknown ids", "[integration][launcher]") {
  Service s;
  std::thread background([] {});  // this process is multi-threaded from here on
  background.join();
  auto sb = s.launcher->create({});
  REQUIRE(sb.ok());
  AgentClient client(sb->channel.get());
  REQUIRE(client.handshake().ok());
  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", "-c", "x = bytearray(20 << 20)"};
  REQUIRE(client.run(spec).ok());
  auto u = s.launcher->usage(sb->id);
  REQUIRE(u.ok());
  CHECK(u->memory_peak > (20u << 20));
  REQUIRE(s.launcher->freeze(sb->id).ok());
  REQUIRE(s.launcher->thaw(sb->id).ok());
  CHECK(s.launcher->usage("nope").error().code == ErrorCode::not_found);
  isolation::SandboxSpec bad;
  bad.limits.pids = 0;
  CHECK(s.launcher->create(bad).error().code == ErrorCode::invalid_argument);
  REQUIRE(s.launcher->destroy(sb->id).ok());
  CHECK(exited(sb->pidfd.get(), 2000));
  CHECK(s.launcher->destroy(sb->id).error().code == ErrorCode::not_found);
}

TEST_CASE("when the daemon lets go, the launcher tears every sandbox down", "[integration][launcher]") {
  Service s;
  auto a = s.launcher->create({});
  auto b = s.launcher->create({});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const pid_t launcher = s.launcher->launcher_pid();
  s.launcher.reset();  // as if the daemon exited
  CHECK(exited(a->pidfd.get(), 5000));
  CHECK(exited(b->pidfd.get(), 5000));
  CHECK(::kill(launcher, 0) != 0);  // gone and reaped
}

TEST_CASE("a killed launcher takes its sandboxes with it", "[integration][launcher]") {
  Service s;
  auto a = s.launcher->create({});
  REQUIRE(a.ok());
  ::kill(s.launcher->launcher_pid(), SIGKILL);
  CHECK(exited(a->pidfd.get(), 5000));  // PDEATHSIG of the agent
  auto after = s.launcher->create({});
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code == ErrorCode::unavailable);
  // The daemon starts a new launcher; its runtime collects what the old one left.
  const std::string scratch = s.dir + "/sandboxes/" + a->id;
  CHECK(std::filesystem::exists(scratch));
  s.respawn();
  CHECK_FALSE(std::filesystem::exists(scratch));
  CHECK_FALSE(std::filesystem::exists("/sys/fs/cgroup/pids/soulbox-test/" + a->id));
  CHECK_FALSE(std::filesystem::exists("/sys/fs/cgroup/soulbox-test/" + a->id));
  CHECK(s.launcher->create({}).ok());
}
