// build/soulbox-isolate through its command line, as a person would use it.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/sandbox_env.h"

using namespace soulbox::test;

namespace {
HostRun isolate(std::vector<std::string> args, const std::string& input = "") {
  std::vector<std::string> argv = {build_dir() + "/soulbox-isolate", "--data-dir", data_dir() + "/cli-data"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_host(argv, input);
}
}  // namespace

TEST_CASE("soulbox-isolate prints 42 from python", "[integration][cli]") {
  auto r = isolate({"--", "/usr/bin/python3", "-c", "print(6*7)"});
  INFO(r.err);
  CHECK(r.out == "42\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("soulbox-isolate passes exit codes, signals, env, cwd and stdin", "[integration][cli]") {
  CHECK(isolate({"--", "/bin/sh", "-c", "exit 9"}).exit_code == 9);
  CHECK(isolate({"--", "/bin/sh", "-c", "kill -KILL $$"}).exit_code == 128 + 9);
  CHECK(isolate({"-e", "A=1", "--cwd", "/tmp", "--", "/bin/sh", "-c", "echo $A $PWD"}).out == "1 /tmp\n");
  CHECK(isolate({"--stdin", "--", "/usr/bin/tr", "a-z", "A-Z"}, "shout\n").out == "SHOUT\n");
  auto err = isolate({"--", "/bin/sh", "-c", "echo oops >&2"});
  CHECK(err.err == "oops\n");
}

TEST_CASE("soulbox-isolate streams a large stdin to a slow reader without loss", "[integration][cli]") {
  std::string input(8u << 20, 'x');
  for (size_t i = 0; i < input.size(); i += 4096) input[i] = '\n';
  auto r = isolate({"--stdin", "--", "/bin/sh", "-c", "sleep 0.5; wc -c"}, input);
  CHECK(r.out == std::to_string(input.size()) + "\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("soulbox-isolate times out with 124", "[integration][cli]") {
  auto r = isolate({"--timeout", "0.3", "--", "/bin/sh", "-c", "sleep 30"});
  CHECK(r.exit_code == 124);
  CHECK_THAT(r.err, Catch::Contains("timed out"));
}

TEST_CASE("soulbox-isolate refuses bad options with a clear message", "[integration][cli]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--memory", "-1M", "--", "/bin/true"}, "--memory: not a size"},
      {{"--memory", "99T", "--", "/bin/true"}, "memory limit must be between"},
      {{"--cpus", "500", "--", "/bin/true"}, "cpus must be between"},
      {{"--pids", "-5", "--", "/bin/true"}, "--pids must be positive"},
      {{"--pids", "1", "--", "/bin/true"}, "pids limit must be between"},
      {{"--template", "missing", "--", "/bin/true"}, "template 'missing' not found"},
      {{"--bind", "/no/such/path", "--", "/bin/true"}, "bind source does not exist"},
      {{"--timeout", "-3", "--", "/bin/true"}, "--timeout must be between"},
      {{"-e", "NOEQUALS", "--", "/bin/true"}, "expected KEY=VALUE"},
      {{"--", "/no/such/binary"}, "No such file"},
  };
  for (const auto& c : cases) {
    auto r = isolate(c.args);
    INFO(c.args[0] << " " << c.args[1] << " -> " << r.err);
    CHECK(r.exit_code == 125);
    CHECK_THAT(r.err, Catch::Contains(c.message));
  }
}

TEST_CASE("soulbox-isolate binds host directories read-only unless asked", "[integration][cli]") {
  const std::string dir = data_dir() + "/bind-src";
  REQUIRE(run_host({"/bin/mkdir", "-p", dir}).exit_code == 0);
  REQUIRE(run_host({"/bin/sh", "-c", "echo host-data > " + dir + "/in.txt"}).exit_code == 0);
  auto ro = isolate(
      {"--bind", dir + ":/data", "--", "/bin/sh", "-c", "cat /data/in.txt; echo x > /data/out 2>&1 || echo denied"});
  CHECK_THAT(ro.out, Catch::StartsWith("host-data\n"));
  CHECK_THAT(ro.out + ro.err, Catch::Contains("denied"));
  auto rw = isolate({"--user", "root", "--bind", dir + ":/data:rw", "--", "/bin/sh", "-c", "ls /data"});
  CHECK(rw.out == "in.txt\n");
  run_host({"/bin/rm", "-rf", dir});
}

TEST_CASE("the caller's terminal is out of reach from inside", "[integration][cli][security]") {
  // soulbox-isolate runs on a pty as its controlling terminal, as in a shell.
  const std::string cli = build_dir() + "/soulbox-isolate";  // before the fork: data_dir() makes a dir
  const std::string data = data_dir() + "/cli-data";
  int master = -1;
  std::fflush(nullptr);
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(cli.c_str(), cli.c_str(), "--data-dir", data.c_str(), "--", "/bin/sh", "-c",
            "echo injected > /dev/tty 2>/dev/null && echo reached-tty || echo no-tty", (char*)nullptr);
    ::_exit(127);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK_THAT(out, Catch::Contains("no-tty"));
  CHECK_THAT(out, !Catch::Contains("injected"));
}
