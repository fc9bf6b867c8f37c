// Process API of the agent: env, cwd, user, stdin, signals, timeouts,
// partial output, listing and the figures reported at the end.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

TEST_CASE("environment is minimal and request variables win", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {"GREETING=hi", "PATH=/usr/bin:/bin"};
  auto r = box.client->run(spec);
  REQUIRE(r.ok());
  CHECK_THAT(r->out, Catch::Contains("GREETING=hi\n"));
  CHECK_THAT(r->out, Catch::Contains("PATH=/usr/bin:/bin\n"));
  CHECK_THAT(r->out, Catch::Contains("HOME=/home/user\n"));
  // Nothing of the host's environment leaks in.
  CHECK_THAT(r->out, !Catch::Contains("NODE_EXTRA_CA_CERTS"));
  CHECK_THAT(r->out, !Catch::Contains("PYENV"));
}

TEST_CASE("cwd and user are honoured", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "pwd; id -u; id -g"};
  spec.cwd = "/tmp";
  auto r = box.client->run(spec);
  REQUIRE(r.ok());
  CHECK(r->out == "/tmp\n1000\n1000\n");
  spec.user = "root";
  spec.cwd = "";
  r = box.client->run(spec);
  REQUIRE(r.ok());
  CHECK(r->out == "/root\n0\n0\n");
}

TEST_CASE("processes start with default signal actions even when the agent inherited ignored ones",
          "[integration][process]") {
  // A daemon started in the background of a shell script ignores SIGINT and
  // SIGQUIT, and its sandboxes' agents inherit that; their processes must
  // not (Ctrl-C on a terminal, a kernel's interrupt handler).
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  auto box = make_box();
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  ProcessSpec spec;
  spec.argv = {"/bin/grep", "SigIgn", "/proc/self/status"};
  auto r = box.client->run(spec);
  REQUIRE(r.ok());
  CHECK(r->out == "SigIgn:\t0000000000000000\n");
}

TEST_CASE("root inside the sandbox holds no capabilities", "[integration][process]") {
  auto box = make_box();
  auto r = box.as_root("grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status");
  CHECK(r.out ==
        "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
        "CapAmb:\t0000000000000000\n");
}

TEST_CASE("unknown programs, users and bad cwd get clear errors", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"no-such-program"};
  auto r = box.client->run(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::not_found);
  CHECK_THAT(r.error().message, Catch::Contains("command not found"));
  spec.argv = {"/bin/true"};
  spec.user = "admin";
  r = box.client->run(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid_argument);
  spec.user = "";
  spec.cwd = "/no/such/dir";
  r = box.client->run(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::not_found);
  // The agent still works afterwards.
  CHECK(box.run({"/bin/echo", "alive"}).out == "alive\n");
}

TEST_CASE("a working directory is entered with the process's own rights", "[integration][process]") {
  auto box = make_box();
  REQUIRE(box.sh("cd /root").exit_code != 0);  // user may not enter /root
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "touch /tmp/ran; pwd"};
  spec.cwd = "/root";
  auto r = box.client->run(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::permission_denied);
  CHECK_THAT(r.error().message, Catch::Contains("working directory /root"));
  CHECK(box.sh("test -e /tmp/ran").exit_code == 1);  // it never ran
  spec.user = "root";
  r = box.client->run(spec);
  REQUIRE(r.ok());
  CHECK(r->out == "/root\n");
  spec.user = "user";
  spec.cwd = "/home/user";
  r = box.client->run(spec);
  REQUIRE(r.ok());
  CHECK(r->out == "/home/user\n");
}

TEST_CASE("stdin is streamed and closed", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"/usr/bin/sort"};
  spec.stdin_open = true;
  uint64_t id = 0;
  auto pid = box.client->start(spec, &id);
  REQUIRE(pid.ok());
  REQUIRE(box.client->send_input(*pid, "pear\napple\n").ok());
  REQUIRE(box.client->send_input(*pid, "fig\n", true).ok());
  auto r = box.client->wait(id, 10000);
  REQUIRE(r.ok());
  CHECK(r->out == "apple\nfig\npear\n");
  CHECK(r->exit_code == 0);
}

TEST_CASE("without stdin_open a process reads EOF", "[integration][process]") {
  auto box = make_box();
  auto r = box.run({"/bin/cat"});
  CHECK(r.out.empty());
  CHECK(r.exit_code == 0);
}

TEST_CASE("output is streamed while the process runs", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo first; sleep 0.3; echo second >&2; sleep 0.3; echo third"};
  std::vector<std::pair<agentproto::Stream, std::string>> chunks;
  auto r = box.client->run(spec, 10000, [&](agentproto::Stream s, const std::string& d) { chunks.emplace_back(s, d); });
  REQUIRE(r.ok());
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].second == "first\n");
  CHECK(chunks[1].first == agentproto::Stream::Stderr);
  CHECK(chunks[2].second == "third\n");
  CHECK(r->wall_us >= 600000);
}

TEST_CASE("exit codes, signals and reported figures", "[integration][process]") {
  auto box = make_box();
  auto r = box.sh("exit 7");
  CHECK(r.exit_code == 7);
  CHECK(r.signal == 0);
  r = box.sh("kill -TERM $$");
  CHECK(r.signal == SIGTERM);
  CHECK(r.exit_code == -1);
  r = box.run({"/usr/bin/python3", "-c", "x = bytearray(40 << 20); s = sum(range(2000000))"});
  CHECK(r.exit_code == 0);
  CHECK(r.peak_rss_kb > 40 * 1024);
  CHECK(r.cpu_us > 0);
  CHECK(r.wall_us >= r.cpu_us / 2);
}

TEST_CASE("signals reach a running process group", "[integration][process]") {
  auto box = make_box();
  const auto [pid, id] = box.start({"/bin/sh", "-c", "sleep 30; echo not-reached"});
  REQUIRE(box.client->signal(pid, SIGKILL).ok());
  auto r = box.client->wait(id, 5000);
  REQUIRE(r.ok());
  CHECK(r->signal == SIGKILL);
  CHECK(r->out.empty());
  CHECK_FALSE(box.client->signal(pid, SIGTERM).ok());  // no longer running
  CHECK_FALSE(box.client->signal(999999, SIGTERM).ok());
}

TEST_CASE("a timeout kills the whole process tree", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  // The shell's children share its process group.
  spec.argv = {"/bin/sh", "-c", "sleep 100 & sleep 100 & echo started; wait"};
  spec.timeout_ms = 400;
  auto r = box.client->run(spec, 10000);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  CHECK(r->signal == SIGKILL);
  CHECK(r->out == "started\n");
  CHECK(r->wall_us < 5000000);
  // No sleeper survives. The kill is immediate, but the agent (PID 1)
  // reaps the orphaned sleepers a moment later: a loaded machine may still
  // list them for a little while (bounded wait).
  auto ps = box.sh("cat /proc/[0-9]*/comm | grep -c sleep");
  for (int i = 0; i < 50 && ps.out != "0\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ps = box.sh("cat /proc/[0-9]*/comm | grep -c sleep");
  }
  CHECK(ps.out == "0\n");
}

TEST_CASE("partial output and the finished flag", "[integration][process]") {
  auto box = make_box();
  const auto [pid, id] = box.start({"/bin/sh", "-c", "echo partial; echo err >&2; sleep 30"});
  std::string seen;
  for (int i = 0; i < 50 && seen.find("partial") == std::string::npos; ++i) {
    auto p = box.client->output_so_far(pid);
    REQUIRE(p.ok());
    CHECK_FALSE(p->finished);
    seen = p->out;
    if (seen.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(seen == "partial\n");
  REQUIRE(box.client->signal(pid, SIGKILL).ok());
  REQUIRE(box.client->wait(id, 5000).ok());
  auto done = box.client->output_so_far(pid);
  REQUIRE(done.ok());
  CHECK(done->finished);
  CHECK(done->err == "err\n");
}

TEST_CASE("processes are listed with their tags", "[integration][process]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"/bin/sleep", "30"};
  spec.tag = "sleeper";
  uint64_t id = 0;
  auto pid = box.client->start(spec, &id);
  REQUIRE(pid.ok());
  auto list = box.client->list();
  REQUIRE(list.ok());
  bool found = false;
  for (const auto& p : *list)
    if (p.pid == *pid) found = p.running && p.tag == "sleeper" && p.argv.at(0) == "/bin/sleep";
  CHECK(found);
  REQUIRE(box.client->kill_all().ok());
  auto r = box.client->wait(id, 5000);
  REQUIRE(r.ok());
  CHECK(r->signal == SIGKILL);
}

TEST_CASE("many processes run concurrently", "[integration][process]") {
  auto box = make_box();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 20; ++i) {
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", "sleep 0.2; echo " + std::to_string(i)};
    uint64_t id = 0;
    REQUIRE(box.client->start(spec, &id).ok());
    ids.push_back(id);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r = box.client->wait(ids[i], 10000);
    REQUIRE(r.ok());
    CHECK(r->out == std::to_string(i) + "\n");
  }
}
