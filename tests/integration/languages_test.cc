// Each language the base template promises runs inside a sandbox.
#include <catch2/catch.hpp>

#include "tests/support/sandbox_env.h"

using namespace soulbox::test;

namespace {
void expect_output(Box& box, const std::vector<std::string>& argv, const std::string& expected) {
  auto r = box.run(argv);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == expected);
}
}  // namespace

TEST_CASE("python3 runs", "[integration][languages]") {
  auto box = make_box();
  expect_output(box, {"/usr/bin/python3", "-c", "import sys; print(6*7, sys.version_info[0])"}, "42 3\n");
}

TEST_CASE("node runs", "[integration][languages]") {
  auto box = make_box();
  expect_output(box, {"/usr/bin/node", "-e", "console.log([1,2,3].map(x => x * 2).join(','))"}, "2,4,6\n");
}

TEST_CASE("bash runs", "[integration][languages]") {
  auto box = make_box();
  expect_output(box, {"/bin/bash", "-c", "a=(x y z); echo ${#a[@]} $((2**10))"}, "3 1024\n");
}

TEST_CASE("ruby, perl and lua run", "[integration][languages]") {
  auto box = make_box();
  expect_output(box, {"/usr/bin/ruby", "-e", "puts [1,2,3].sum"}, "6\n");
  expect_output(box, {"/usr/bin/perl", "-e", "print join('-', reverse 1..3), qq(\\n)"}, "3-2-1\n");
  expect_output(box, {"/usr/bin/lua5.4", "-e", "print(string.rep('ab', 3))"}, "ababab\n");
}

TEST_CASE("a C program compiled with gcc inside runs", "[integration][languages]") {
  auto box = make_box();
  REQUIRE(box.client
              ->write_file("/home/user/hello.c",
                           "#include <stdio.h>\nint main(void){printf(\"sum=%d\\n\", 40+2);return 3;}\n")
              .ok());
  auto cc = box.run({"/usr/bin/gcc", "-O1", "-o", "/home/user/hello", "/home/user/hello.c"}, 60000);
  INFO("gcc stderr: " << cc.err);
  REQUIRE(cc.exit_code == 0);
  auto r = box.run({"/home/user/hello"});
  CHECK(r.out == "sum=42\n");
  CHECK(r.exit_code == 3);
}
