// The `soulbox` and `soulboxctl` command lines against a real soulboxd that
// serves the HTTP API itself (--http-port), with real sandboxes: what each
// command does with the odd input users give it (symlinks, pipes, typos,
// out-of-range numbers) and what it says when the server refuses.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/daemon_env.h"
#include "tests/support/sandbox_env.h"
#include "tests/support/tenant_keys.h"

namespace {

using namespace soulbox;
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string cli_binary() {
  return test::daemon_build_dir() + "/soulbox";
}

// A soulboxd serving the HTTP API, a developer key of its own tenant, and
// the CLI pointed at them through a config file (`soulbox init`).
class Cli {
 public:
  explicit Cli(const std::string& tenant) {
    std::ifstream ready(d_.data_dir() + "/soulboxd.json");
    url_ = json::parse(ready).value("http_url", "");
    REQUIRE(url_.rfind("http://127.0.0.1:", 0) == 0);
    config_ = d_.root() + "/cli-home/config.json";
    const auto init =
        (*this)({"init", "--api-url", url_, "--api-key", test::developer_key(d_.client(), tenant).second});
    INFO(init.out << init.err);
    REQUIRE(init.exit_code == 0);
  }

  // `soulbox --config <ours> args...` with `in` on a pipe as its stdin.
  test::HostRun operator()(const std::vector<std::string>& args, const std::string& in = "") const {
    std::vector<std::string> argv{"/usr/bin/env",    "-u",         "E2B_API_KEY", "-u",
                                  "SOULBOX_API_KEY", cli_binary(), "--config",    config_};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_host(argv, in);
  }

  std::string create_sandbox() const {
    const auto made = (*this)({"sandbox", "create"});
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    return made.out.substr(0, made.out.find('\n'));
  }

  // What `cmd` prints in sandbox `id` (through the CLI's exec).
  std::string in_sandbox(const std::string& id, const std::string& cmd) const {
    return (*this)({"exec", id, "--", "/bin/sh", "-c", cmd}).out;
  }

  const std::string& config() const { return config_; }
  std::string local_dir(const std::string& name) const {
    const std::string dir = d_.root() + "/" + name;
    fs::create_directories(dir);
    return dir;
  }

 private:
  test::Daemon d_{{"--jobs-workers", "0", "--http-port", "0"}};
  std::string url_, config_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& data, fs::perms mode = fs::perms(0644)) {
  std::ofstream(path, std::ios::binary) << data;
  fs::permissions(path, mode);
}

}  // namespace

TEST_CASE("soulbox cp -r copies no symlink's target and writes nothing outside the destination", "[cli][cp]") {
  Cli sb("cli-links");
  const std::string id = sb.create_sandbox();
  const std::string local = sb.local_dir("links");
  fs::create_directories(local + "/p");
  write_file(local + "/p/ok.txt", "ok\n");
  write_file(local + "/outside.txt", "outside\n");
  fs::create_symlink(local + "/outside.txt", local + "/p/link");  // would land at proj/../outside.txt
  fs::create_symlink("ok.txt", local + "/p/sibling");             // would upload ok.txt twice
  fs::create_symlink("/etc/hostname", local + "/p/hostname");     // would write the sandbox's /etc

  const auto copied = sb({"cp", "-r", local + "/p", id + ":/home/user/proj"});
  INFO(copied.out << copied.err);
  CHECK(copied.exit_code == 0);
  for (const char* link : {"p/link", "p/sibling", "p/hostname"}) {  // each skipped, by name
    CHECK_THAT(copied.err, Catch::Contains(std::string("skipping symlink ") + local + "/" + link));
  }
  CHECK(sb.in_sandbox(id, "cat /home/user/proj/ok.txt") == "ok\n");
  CHECK(sb.in_sandbox(id, "ls -A /home/user/proj") == "ok.txt\n");  // no target copied under any name
  CHECK(sb.in_sandbox(id, "ls /home/user") == "proj\n");            // nothing written beside it
  CHECK(sb.in_sandbox(id, "cat /etc/hostname") != "");

  // A destination with ".." in it is refused: the sandbox would resolve it.
  const auto dotdot = sb({"cp", "-r", local + "/p", id + ":/home/user/proj/../elsewhere"});
  CHECK(dotdot.exit_code == 1);
  CHECK_THAT(dotdot.err, Catch::Contains("'..'"));
  CHECK(sb.in_sandbox(id, "ls /home/user") == "proj\n");

  // A symlink named on the command line is a symlink too (cp -r copies it as one).
  const auto top = sb({"cp", "-r", local + "/p/link", id + ":/home/user/top"});
  CHECK(top.exit_code == 0);
  CHECK_THAT(top.err, Catch::Contains("skipping symlink " + local + "/p/link"));
  CHECK(sb.in_sandbox(id, "ls /home/user") == "proj\n");

  // Downloads recreate a sandbox's symlinks as symlinks, never as copies.
  sb.in_sandbox(id,
                "mkdir /home/user/rt && echo t > /home/user/rt/t.txt && ln -s t.txt /home/user/rt/rel && "
                "ln -s /etc/passwd /home/user/rt/abs");
  const auto down = sb({"cp", "-r", id + ":/home/user/rt", local + "/rt"});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(read_file(local + "/rt/t.txt") == "t\n");
  CHECK(fs::is_symlink(local + "/rt/rel"));
  CHECK(fs::read_symlink(local + "/rt/rel") == "t.txt");
  CHECK(fs::is_symlink(local + "/rt/abs"));
  CHECK(fs::read_symlink(local + "/rt/abs") == "/etc/passwd");

  // A second copy over the first writes through none of the links the
  // first made (here pointing at files of this test's own).
  fs::create_directories(local + "/victim");
  write_file(local + "/victim.txt", "victim\n");
  sb.in_sandbox(id, "mkdir /home/user/again && ln -s " + local + "/victim.txt /home/user/again/f && ln -s " + local +
                        "/victim /home/user/again/d");
  REQUIRE(sb({"cp", "-r", id + ":/home/user/again", local}).exit_code == 0);  // into local/again
  CHECK(fs::is_symlink(local + "/again/f"));
  CHECK(fs::is_symlink(local + "/again/d"));
  sb.in_sandbox(id, "cd /home/user/again && rm f d && echo new > f && mkdir d && echo x > d/x");
  const auto over = sb({"cp", "-r", id + ":/home/user/again", local});
  CHECK(over.exit_code == 0);
  CHECK_THAT(over.err, Catch::Contains("skipping " + local + "/again/d"));
  CHECK(read_file(local + "/victim.txt") == "victim\n");
  CHECK(read_file(local + "/again/f") == "new\n");
  CHECK_FALSE(fs::is_symlink(local + "/again/f"));
  CHECK_FALSE(fs::exists(local + "/victim/x"));
}

TEST_CASE("soulbox cp -r makes empty directories, nests into an existing directory, and keeps exec bits on download",
          "[cli][cp]") {
  Cli sb("cli-tree");
  const std::string id = sb.create_sandbox();
  const std::string local = sb.local_dir("tree");
  fs::create_directories(local + "/src/empty");
  fs::create_directories(local + "/src/sub/deeper");
  write_file(local + "/src/sub/run.sh", "#!/bin/sh\necho ran\n", fs::perms(0755));

  // Into a path that does not exist: it becomes the copy.
  REQUIRE(sb({"cp", "-r", local + "/src", id + ":/home/user/dest"}).exit_code == 0);
  CHECK(sb.in_sandbox(id, "cd /home/user/dest && find . | sort") == ".\n./empty\n./sub\n./sub/deeper\n./sub/run.sh\n");
  // Into an existing directory: the copy goes inside it, under its own name.
  REQUIRE(sb({"cp", "-r", local + "/src", id + ":/home/user/dest"}).exit_code == 0);
  CHECK(
      sb.in_sandbox(id, "test -d /home/user/dest/src/empty && test -f /home/user/dest/src/sub/run.sh && echo nested") ==
      "nested\n");

  // Back: the same rules here, and an executable stays executable.
  sb.in_sandbox(id,
                "mkdir -p /home/user/back/none && printf 'echo hi' > /home/user/back/x.sh && "
                "chmod 755 /home/user/back/x.sh && echo d > /home/user/back/data");
  REQUIRE(sb({"cp", "-r", id + ":/home/user/back", local + "/back"}).exit_code == 0);
  CHECK(fs::is_directory(local + "/back/none"));
  CHECK((fs::status(local + "/back/x.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
  CHECK((fs::status(local + "/back/data").permissions() & fs::perms::owner_exec) == fs::perms::none);
  REQUIRE(sb({"cp", "-r", id + ":/home/user/back", local + "/back"}).exit_code == 0);
  CHECK(fs::is_directory(local + "/back/back/none"));
  CHECK(read_file(local + "/back/back/data") == "d\n");
  // One file into an existing directory: under its own name there.
  REQUIRE(sb({"cp", id + ":/home/user/back/data", local}).exit_code == 0);
  CHECK(read_file(local + "/data") == "d\n");
}

// Reads `fd` until it ends or `ms` pass.
std::string read_all(int fd, int ms) {
  std::string got;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, size_t(n));
  }
  return got;
}

// Runs the CLI with a pseudo-terminal as its stdin, stdout and stderr;
// what it wrote there and its exit status.
std::pair<std::string, int> on_terminal(const Cli& sb, const std::vector<std::string>& args) {
  std::vector<std::string> argv{cli_binary(), "--config", sb.config()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int master = -1;
  std::fflush(nullptr);
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  const std::string out = read_all(master, 60000);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(master);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

TEST_CASE("soulbox cp draws a download's progress against its size", "[cli][cp]") {
  Cli sb("cli-progress");
  const std::string id = sb.create_sandbox();
  // 5 MiB: more than one bus part, so the gateway streams it without a length.
  sb.in_sandbox(id, "head -c 5242880 /dev/zero > /home/user/big.bin");
  const std::string local = sb.local_dir("progress");
  const auto [shown, code] = on_terminal(sb, {"cp", id + ":/home/user/big.bin", local + "/big.bin"});
  INFO(shown);
  CHECK(code == 0);
  CHECK_THAT(shown, Catch::Contains("100%") && Catch::Contains("/5.0 MiB"));
  CHECK(fs::file_size(local + "/big.bin") == (5u << 20));
}

TEST_CASE("soulbox run shows the server's status and message when it refuses the cell", "[cli]") {
  Cli sb("cli-errors");
  const std::string id = sb.create_sandbox();
  const auto missing = sb({"run", "--sandbox", id, "--context", "nope", "1"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("HTTP 404") && Catch::Contains("Context nope not found"));
  CHECK_THAT(missing.err, !Catch::Contains("body limit") && !Catch::Contains("is SoulBox running"));
}

TEST_CASE("soulbox and soulboxctl name an unknown command, list the commands, and print their version", "[cli]") {
  for (const std::string program : {"soulbox", "soulboxctl"}) {
    const std::string bin = test::daemon_build_dir() + "/" + program;
    INFO(program);
    const auto typo = test::run_host({bin, "frobnicate"});
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.err, Catch::Contains("unknown command 'frobnicate'") && Catch::Contains("exec"));
    CHECK_THAT(typo.err, !Catch::Contains("A subcommand is required"));
    const auto none = test::run_host({bin});
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Catch::Contains("a command is required") && Catch::Contains("exec"));
    const auto version = test::run_host({bin, "--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out == program + " 0.1.0\n");
  }
  const auto nested = test::run_host({cli_binary(), "sandbox", "frobnicate"});
  CHECK(nested.exit_code == 2);
  CHECK_THAT(nested.err, Catch::Contains("unknown command 'sandbox frobnicate'") && Catch::Contains("create"));
}

TEST_CASE("soulbox sandbox create refuses a lifetime out of range and says when the node shortened one", "[cli]") {
  Cli sb("cli-timeout");
  for (const char* bad : {"0", "-5", "99999999"}) {
    const auto refused = sb({"sandbox", "create", "--timeout", bad});
    INFO(bad);
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.err, Catch::Contains("--timeout must be 1 to 2592000 seconds"));
  }
  CHECK(sb({"run", "--timeout", "0", "1"}).exit_code == 1);
  // Past the node's --max-lifetime (a day by default): made, and said so.
  const auto capped = sb({"sandbox", "create", "--timeout", "86401"});
  CHECK(capped.exit_code == 0);
  CHECK_THAT(capped.err, Catch::Contains("86400 s") && Catch::Contains("--max-lifetime"));
  const auto fits = sb({"sandbox", "create", "--timeout", "86400"});
  CHECK(fits.exit_code == 0);
  CHECK(fits.err == "");
}

TEST_CASE("soulbox sandbox list aligns its columns whatever the widths of what is in them", "[cli]") {
  Cli sb("cli-list");
  const std::string base = sb.create_sandbox();
  const auto code = sb({"sandbox", "create", "--template", "code-interpreter-v1"});
  INFO(code.err);
  REQUIRE(code.exit_code == 0);
  REQUIRE(sb({"sandbox", "pause", base}).exit_code == 0);
  const auto listed = sb({"sandbox", "list"});
  INFO(listed.out);
  REQUIRE(listed.exit_code == 0);
  std::istringstream lines(listed.out);
  std::string header;
  std::getline(lines, header);
  const size_t template_at = header.find("TEMPLATE"), state_at = header.find("STATE"),
               started_at = header.find("STARTED");
  REQUIRE(started_at != std::string::npos);
  int rows = 0;
  for (std::string row; std::getline(lines, row); ++rows) {
    REQUIRE(row.size() > started_at);
    for (size_t at : {template_at, state_at, started_at}) CHECK(row[at - 1] == ' ');  // a column ends before the next
    CHECK((row.compare(state_at, 7, "running") == 0 || row.compare(state_at, 6, "paused") == 0));
    CHECK(row.compare(started_at, 2, "20") == 0);  // the start time, where its heading is
  }
  CHECK(rows == 2);
  CHECK(listed.out.find("code-interpreter-v1 ") != std::string::npos);
}

TEST_CASE("soulbox exec forwards stdin from a pipe without -i, and not from a terminal", "[cli]") {
  // A CLI that leaves its stdin unread must fail the checks, not end the test.
  ::signal(SIGPIPE, SIG_IGN);
  Cli sb("cli-stdin");
  const std::string id = sb.create_sandbox();
  const auto upper = sb({"exec", id, "--", "tr", "a-z", "A-Z"}, "hello\n");
  CHECK(upper.exit_code == 0);
  CHECK(upper.out == "HELLO\n");
  std::string big(3u << 20, 'x');  // more than one SendInput
  const auto counted = sb({"exec", id, "--", "wc", "-c"}, big);
  CHECK(counted.out == std::to_string(big.size()) + "\n");
  CHECK(sb({"exec", id, "--", "/bin/sh", "-c", "cat; echo end"}).out == "end\n");  // an empty pipe: EOF
  // A terminal is not read without -i: the command sees no input at all.
  const auto [shown, code] = on_terminal(sb, {"exec", id, "--", "/bin/sh", "-c", "cat; echo done"});
  CHECK(code == 0);
  CHECK_THAT(shown, Catch::Contains("done"));
}
