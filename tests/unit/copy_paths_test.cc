#include "cli/soulbox/copy_paths.h"

#include <catch2/catch.hpp>

using namespace soulbox::cli;

TEST_CASE("soulbox cp refuses a remote path with '..' in it, wherever it is", "[unit][cli]") {
  CHECK(check_remote_path("/home/user/proj/a.txt").ok());
  CHECK(check_remote_path("relative/x..y/..z").ok());
  CHECK_FALSE(check_remote_path("/home/user/proj/../outside.txt").ok());
  CHECK_FALSE(check_remote_path("..").ok());
  CHECK_FALSE(check_remote_path("../x").ok());
  CHECK_FALSE(check_remote_path("/a/..").ok());
}

TEST_CASE("soulbox cp joins remote paths and names copies as POSIX cp does", "[unit][cli]") {
  CHECK(remote_join("/home/user/proj", "a/b") == "/home/user/proj/a/b");
  CHECK(remote_join("/home/user/proj//", "a") == "/home/user/proj/a");
  CHECK(remote_join("/", "a") == "/a");
  CHECK(remote_join("", "a") == "a");  // the home directory
  CHECK(copy_name("./p") == "p");
  CHECK(copy_name("/x/p/") == "p");
  CHECK(copy_name("p") == "p");
  CHECK(copy_name(".") == "");  // the contents go in
  CHECK(copy_name("../") == "");
  CHECK(copy_name("/") == "");
}

TEST_CASE("soulbox cp takes from a sandbox's listing only entries under the copied directory", "[unit][cli]") {
  CHECK(listed_under("/home/user/rt", "/home/user/rt/a") == "a");
  CHECK(listed_under("/home/user/rt", "/home/user/rt/a/b.txt") == "a/b.txt");
  CHECK(listed_under("/", "/etc") == "etc");
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/rt"));
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/rtx/a"));
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/other"));
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/rt/../../../etc/passwd"));
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/rt/a/../../x"));
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/rt//x"));
  CHECK_FALSE(listed_under("/home/user/rt", "/home/user/rt/./x"));
}

TEST_CASE("soulbox cp tells a sandbox path from a local one", "[unit][cli]") {
  CHECK(remote_of("sb-1:/home/user/x")->id == "sb-1");
  CHECK(remote_of("sb-1:/home/user/x")->path == "/home/user/x");
  CHECK(remote_of("sb-1:")->path == "");
  CHECK_FALSE(remote_of("./a:b"));
  CHECK_FALSE(remote_of("/tmp/x"));
  CHECK_FALSE(remote_of(":x"));
}
