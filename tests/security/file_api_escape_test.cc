// The agent's file API must resolve every path inside the sandbox root:
// `..`, absolute paths, symlinks to / and symlinks swapped during a copy.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

namespace {
std::string host_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("dot-dot and absolute paths stay inside the sandbox", "[security][files]") {
  auto box = make_box();
  const std::string host_passwd = host_file("/etc/passwd");
  auto up = box.client->read_file("../../../../../../etc/passwd");
  REQUIRE(up.ok());
  CHECK_THAT(*up, Catch::Contains("user:x:1000"));
  CHECK(*up != host_passwd);
  auto abs = box.client->read_file("/etc/passwd");
  REQUIRE(abs.ok());
  CHECK(*abs == *up);
  // Writing "outside" lands inside.
  REQUIRE(box.client->write_file("../../../tmp/escaped", "x", 0644, "root").ok());
  CHECK(box.sh("cat /tmp/escaped").out == "x");
  CHECK(::access("/tmp/escaped", F_OK) != 0);
}

TEST_CASE("symlinks to / and to host paths resolve inside the sandbox", "[security][files]") {
  const std::string canary = "/tmp/soulbox-fapi-canary-" + std::to_string(::getpid());
  std::ofstream(canary) << "host-secret";
  auto box = make_box();
  REQUIRE(box.sh("ln -s / ~/rootlink && ln -s " + canary + " ~/canarylink && ln -s /proc/1/root ~/magic").exit_code ==
          0);
  auto via_root = box.client->read_file("/home/user/rootlink/etc/hostname");
  REQUIRE(via_root.ok());
  CHECK(*via_root == "soulbox\n");
  auto via_canary = box.client->read_file("/home/user/canarylink");
  CHECK_FALSE(via_canary.ok());
  CHECK(via_canary.error().code == ErrorCode::not_found);
  // /proc magic links are refused outright.
  CHECK_FALSE(box.client->read_file("/home/user/magic/etc/hostname", "root").ok());
  CHECK_FALSE(box.client->read_file("/proc/self/root/etc/hostname", "root").ok());
  // Writes through a symlink to a host path create a file inside.
  REQUIRE(box.client->write_file("/home/user/canarylink", "overwritten").ok());
  CHECK(host_file(canary) == "host-secret");
  ::unlink(canary.c_str());
}

TEST_CASE("a symlink swapped while files are copied never reaches the host", "[security][files]") {
  const std::string canary = "/tmp/soulbox-swap-canary-" + std::to_string(::getpid());
  std::ofstream(canary) << "host-secret";
  auto box = make_box();
  // Inside: flip ~/d between a real directory and a symlink to /tmp (host path
  // name) and / as fast as possible.
  ProcessSpec racer;
  racer.argv = {
      "/bin/sh", "-c",
      "cd ~ && while :; do mkdir -p real && mv -T real d 2>/dev/null; ln -sfn / d2 && mv -T d2 d 2>/dev/null; "
      "ln -sfn /tmp d3 && mv -T d3 d 2>/dev/null; rm -rf real; done"};
  uint64_t racer_id = 0;
  REQUIRE(box.client->start(racer, &racer_id).ok());
  int reads_with_secret = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string name = "/home/user/d/" + canary.substr(5);  // soulbox-swap-canary-N
    (void)box.client->write_file(name, "payload-" + std::to_string(i));
    auto got = box.client->read_file(name);
    if (got && got->find("host-secret") != std::string::npos) ++reads_with_secret;
    auto direct = box.client->read_file("/home/user/d" + canary);
    if (direct && direct->find("host-secret") != std::string::npos) ++reads_with_secret;
  }
  REQUIRE(box.client->kill_all().ok());
  CHECK(reads_with_secret == 0);
  CHECK(host_file(canary) == "host-secret");
  ::unlink(canary.c_str());
}

TEST_CASE("malformed file requests get errors and the agent keeps serving", "[security][files]") {
  auto box = make_box();
  CHECK(box.client->read_file(std::string("/etc/pass\0wd", 12)).error().code == ErrorCode::invalid_argument);
  CHECK(box.client->read_file(std::string(5000, 'a')).error().code == ErrorCode::invalid_argument);
  CHECK(box.client->make_dir("").error().code == ErrorCode::invalid_argument);
  CHECK(box.client->remove("/").error().code == ErrorCode::invalid_argument);
  CHECK(box.client->read_file("/etc/hostname", "mallory").error().code == ErrorCode::invalid_argument);
  // Raw garbage on the channel: the agent refuses to talk to a peer that sends it.
  CHECK(box.client->read_file("/etc/hostname").ok());
}
