// Creation, teardown and failure handling of whole sandboxes.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

TEST_CASE("teardown leaves no process, cgroup, mount or directory", "[integration][lifecycle]") {
  const size_t mounts_before = host_mount_count();
  std::string id;
  uint32_t base = 0;
  {
    auto box = make_box();
    id = box.sandbox->id();
    base = box.sandbox->host_id_base();
    ProcessSpec spec;
    spec.argv = {"/bin/sleep", "1000"};
    REQUIRE(box.client->start(spec, nullptr).ok());
    REQUIRE(box.sh("echo data > /tmp/x && echo data > ~/y").exit_code == 0);
    auto during = leftovers_of(id, base);
    CHECK(during.processes.size() >= 2);  // agent and sleep run as the sandbox's ids
    CHECK(during.cgroup_dir);
    REQUIRE(box.sandbox->destroy().ok());
  }
  auto after = leftovers_of(id, base);
  CHECK(after.processes.empty());
  CHECK_FALSE(after.cgroup_dir);
  CHECK_FALSE(after.scratch_dir);
  CHECK(host_mount_count() == mounts_before);
}

TEST_CASE("a sandbox whose agent dies is detected and cleaned up", "[integration][lifecycle]") {
  auto box = make_box();
  const std::string id = box.sandbox->id();
  const uint32_t base = box.sandbox->host_id_base();
  CHECK(box.sandbox->agent_alive());
  ::kill(box.sandbox->agent_pid(), SIGKILL);  // from the host: a crash
  for (int i = 0; i < 100 && box.sandbox->agent_alive(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(box.sandbox->agent_alive());
  ProcessSpec spec;
  spec.argv = {"/bin/true"};
  auto r = box.client->run(spec, 2000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::unavailable);
  REQUIRE(box.sandbox->destroy().ok());
  CHECK(clean(leftovers_of(id, base)));
}

TEST_CASE("each sandbox gets its own host id range and hostname", "[integration][lifecycle]") {
  isolation::SandboxSpec a_spec, b_spec;
  b_spec.hostname = "neighbour";
  auto a = make_box(a_spec);
  auto b = make_box(b_spec);
  CHECK(a.sandbox->host_id_base() != b.sandbox->host_id_base());
  CHECK(a.sandbox->id() != b.sandbox->id());
  CHECK(a.sh("hostname").out == "soulbox\n");
  CHECK(b.sh("hostname").out == "neighbour\n");
  // Files in one sandbox are invisible to the other.
  REQUIRE(a.client->write_file("/tmp/secret", "a-only").ok());
  CHECK(b.client->read_file("/tmp/secret").error().code == ErrorCode::not_found);
  CHECK(a.sh("cat /proc/self/uid_map").out.find(std::to_string(a.sandbox->host_id_base())) != std::string::npos);
}

TEST_CASE("a missing template and bad limits are refused before anything is created", "[integration][lifecycle]") {
  isolation::SandboxSpec spec;
  spec.template_name = "no-such-template";
  auto sb = runtime().create(spec);
  REQUIRE_FALSE(sb.ok());
  CHECK(sb.error().code == ErrorCode::not_found);
  CHECK_THAT(sb.error().message, Catch::Contains("template 'no-such-template' not found"));
  spec = {};
  spec.limits.memory_bytes = 1;
  sb = runtime().create(spec);
  REQUIRE_FALSE(sb.ok());
  CHECK(sb.error().code == ErrorCode::invalid_argument);
  spec = {};
  spec.id = "dup-id";
  auto first = runtime().create(spec);
  REQUIRE(first.ok());
  auto second = runtime().create(spec);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == ErrorCode::already_exists);
}

TEST_CASE("the host refuses an agent that speaks too old a protocol", "[integration][lifecycle]") {
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  flatbuffers::FlatBufferBuilder fbb;
  auto hello = agentproto::CreateHello(fbb, 0, fbb.CreateString("0.0.1"));
  agentproto::FinishFrameBuffer(fbb, agentproto::CreateFrame(fbb, 0, agentproto::Body::Hello, hello.Union()));
  const std::string frame = agentproto::encode_frame(fbb);
  REQUIRE(::write(pair[1], frame.data(), frame.size()) == ssize_t(frame.size()));
  AgentClient client(pair[0]);
  auto r = client.handshake(1000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::version_mismatch);
  CHECK_THAT(r.error().message, Catch::Contains("0.0.1"));
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_CASE("cgroup usage is readable and limits are in place", "[integration][lifecycle]") {
  isolation::SandboxSpec spec;
  spec.limits.memory_bytes = 128u << 20;
  spec.limits.pids = 64;
  auto box = make_box(spec);
  REQUIRE(box.run({"/usr/bin/python3", "-c", "x = bytearray(30 << 20)"}).exit_code == 0);
  auto u = box.sandbox->cgroup().usage();
  REQUIRE(u.ok());
  CHECK(u->memory_peak > (30u << 20));
  CHECK(u->pids_current >= 1);
  CHECK(u->cpu_usec > 0);
}

TEST_CASE("freeze stops the sandbox and thaw resumes it", "[integration][lifecycle]") {
  auto box = make_box();
  const uint64_t id = box.start({"/bin/sh", "-c", "while :; do echo tick; sleep 0.05; done"}).id;
  REQUIRE(box.client->wait_for(id, 2000).ok());
  auto frozen = box.sandbox->cgroup().freeze();
  INFO((frozen ? "" : frozen.error().message));
  REQUIRE(frozen.ok());
  // Drain what was in flight, then expect silence while frozen.
  while (box.client->wait_for(id, 200).ok()) {
  }
  CHECK_FALSE(box.client->wait_for(id, 400).ok());
  REQUIRE(box.sandbox->cgroup().thaw().ok());
  CHECK(box.client->wait_for(id, 2000).ok());
}

TEST_CASE("what a killed soulbox-isolate left behind is collected on the next start", "[integration][lifecycle]") {
  const std::string data = data_dir() + "/stale-data";
  const std::string cli = build_dir() + "/soulbox-isolate";
  auto started =
      run_host({"/bin/sh", "-c", cli + " --data-dir " + data + " -- /bin/sleep 30 >/dev/null 2>&1 & echo $!"});
  const pid_t cli_pid = std::stoi(started.out);
  std::string id;
  for (int i = 0; i < 200 && id.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto ls = run_host({"/bin/ls", data + "/sandboxes"});
    if (!ls.out.empty()) id = ls.out.substr(0, ls.out.find('\n'));
  }
  REQUIRE_FALSE(id.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(cli_pid, SIGKILL);  // no teardown runs; the agent dies with its parent
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string cgroup = "/sys/fs/cgroup/pids/soulbox/" + id;
  const bool v1 = ::access("/sys/fs/cgroup/pids", F_OK) == 0;
  CHECK(::access((data + "/sandboxes/" + id).c_str(), F_OK) == 0);  // left behind
  if (v1) CHECK(::access(cgroup.c_str(), F_OK) == 0);
  auto next = run_host({cli, "--data-dir", data, "--", "/bin/true"});
  CHECK(next.exit_code == 0);
  CHECK(::access((data + "/sandboxes/" + id).c_str(), F_OK) != 0);
  if (v1) CHECK(::access(cgroup.c_str(), F_OK) != 0);
  run_host({"/bin/rm", "-rf", data});
}

TEST_CASE("a multi-threaded caller is refused instead of risking a deadlocked child", "[integration][lifecycle]") {
  std::promise<void> release;
  std::thread other([f = release.get_future()]() mutable { f.wait(); });
  auto sb = runtime().create({});
  release.set_value();
  other.join();
  REQUIRE_FALSE(sb.ok());
  CHECK_THAT(sb.error().message, Catch::Contains("single-threaded process"));
  auto after = runtime().create({});  // alone again: works
  CHECK(after.ok());
}

TEST_CASE("a failing set-up step is reported with the step and errno", "[integration][lifecycle]") {
  isolation::SandboxSpec spec;
  // The mount point would have to be created inside the read-only /usr bind.
  spec.binds.push_back({"/tmp", "/usr/soulbox-new-dir", false});
  auto sb = runtime().create(spec);
  REQUIRE_FALSE(sb.ok());
  CHECK_THAT(sb.error().message, Catch::Contains("sandbox setup failed at 'mkdir "));
  CHECK_THAT(sb.error().message, Catch::Contains("/usr/soulbox-new-dir'"));
  CHECK_THAT(sb.error().message, Catch::Contains("(errno 30)"));  // EROFS
  CHECK(runtime().create({}).ok());                               // and nothing is left in the way
}
