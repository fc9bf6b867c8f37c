// File API round trips through the agent.
#include <catch2/catch.hpp>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

TEST_CASE("write then read a file, relative paths are under home", "[integration][files]") {
  auto box = make_box();
  REQUIRE(box.client->write_file("notes/today.txt", "hello\n").ok());
  auto data = box.client->read_file("/home/user/notes/today.txt");
  REQUIRE(data.ok());
  CHECK(*data == "hello\n");
  // The sandbox sees the same file, owned by user.
  auto r = box.sh("cat ~/notes/today.txt; stat -c '%U %a' ~/notes/today.txt");
  CHECK(r.out == "hello\nuser 644\n");
}

TEST_CASE("large files stream in chunks both ways", "[integration][files]") {
  auto box = make_box();
  std::string big(5u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char((i * 131) % 251);
  REQUIRE(box.client->write_file("/tmp/big.bin", big).ok());
  auto back = box.client->read_file("/tmp/big.bin");
  REQUIRE(back.ok());
  CHECK(back->size() == big.size());
  CHECK(*back == big);
  auto sum = box.sh("wc -c < /tmp/big.bin");
  CHECK(sum.out == std::to_string(big.size()) + "\n");
}

TEST_CASE("writes are atomic: a failed write leaves the old content", "[integration][files]") {
  auto box = make_box();
  REQUIRE(box.client->write_file("/home/user/f", "old").ok());
  // Writing over a directory fails and leaves no temp file behind.
  REQUIRE(box.client->make_dir("/home/user/d").ok());
  auto st = box.client->write_file("/home/user/d", "new");
  REQUIRE_FALSE(st.ok());
  CHECK(*box.client->read_file("/home/user/f") == "old");
  auto r = box.sh("ls -A /home/user");
  CHECK(r.out == "d\nf\n");
}

TEST_CASE("list with depth, stat, mkdir -p, rename and remove", "[integration][files]") {
  auto box = make_box();
  REQUIRE(box.client->make_dir("/home/user/a/b/c").ok());
  REQUIRE(box.client->write_file("/home/user/a/b/c/f.txt", "12345").ok());
  REQUIRE(box.sh("ln -s a/b /home/user/link").exit_code == 0);

  auto one = box.client->list_dir("/home/user", 1);
  REQUIRE(one.ok());
  std::vector<std::string> names;
  for (const auto& e : *one) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"a", "link"});
  auto deep = box.client->list_dir("/home/user/a", 3);
  REQUIRE(deep.ok());
  CHECK(deep->size() == 3);  // b, b/c, b/c/f.txt

  auto st = box.client->stat("/home/user/a/b/c/f.txt");
  REQUIRE(st.ok());
  CHECK(st->size == 5);
  CHECK(st->type == agentproto::FileType::File);
  CHECK(st->uid == 1000);
  auto link = box.client->stat("/home/user/link");
  REQUIRE(link.ok());
  CHECK(link->type == agentproto::FileType::Symlink);
  CHECK(link->symlink_target == "a/b");

  REQUIRE(box.client->rename("/home/user/a/b/c/f.txt", "/home/user/g.txt").ok());
  CHECK(*box.client->read_file("/home/user/g.txt") == "12345");
  CHECK(box.client->stat("/home/user/a/b/c/f.txt").error().code == ErrorCode::not_found);

  CHECK_FALSE(box.client->remove("/home/user/a").ok());  // not empty, not recursive
  REQUIRE(box.client->remove("/home/user/a", true).ok());
  REQUIRE(box.client->remove("/home/user/link").ok());
  CHECK(box.client->list_dir("/home/user")->size() == 1);
}

TEST_CASE("file errors carry stable codes", "[integration][files]") {
  auto box = make_box();
  CHECK(box.client->read_file("/nope").error().code == ErrorCode::not_found);
  CHECK(box.client->read_file("/home").error().code == ErrorCode::is_a_directory);
  CHECK(box.client->read_file("").error().code == ErrorCode::invalid_argument);
  CHECK(box.client->list_dir("/etc/passwd").error().code == ErrorCode::not_a_directory);
  // user cannot write into root's home; root can.
  CHECK(box.client->write_file("/root/x", "1").error().code == ErrorCode::permission_denied);
  CHECK(box.client->write_file("/root/x", "1", 0600, "root").ok());
  CHECK(box.client->read_file("/root/x").error().code == ErrorCode::permission_denied);
  // /usr is a read-only bind of the host.
  CHECK(box.client->write_file("/usr/evil", "x", 0644, "root").error().code == ErrorCode::permission_denied);
}

TEST_CASE("the disk limit is enforced for file writes", "[integration][files]") {
  isolation::SandboxSpec spec;
  spec.limits.disk_bytes = 8u << 20;
  auto box = make_box(spec);
  auto st = box.client->write_file("/home/user/too-big", std::string(12u << 20, 'x'));
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == ErrorCode::resource_exhausted);
  CHECK(box.client->write_file("/home/user/small", "ok").ok());
}

TEST_CASE("a huge listing is cut and says so, and the channel survives", "[integration][files]") {
  auto box = make_box();
  auto made = box.run({"/usr/bin/python3", "-c",
                       "import os\nos.makedirs('/tmp/many')\n"
                       "for i in range(12000): open('/tmp/many/f%05d' % i, 'w').close()\nprint('ok')"});
  REQUIRE(made.out == "ok\n");
  bool truncated = false;
  auto list = box.client->list_dir("/tmp/many", 1, "", &truncated);
  REQUIRE(list.ok());
  CHECK(truncated);
  CHECK(list->size() == 10000);
  auto small = box.client->list_dir("/home", 1, "", &truncated);
  REQUIRE(small.ok());
  CHECK_FALSE(truncated);
  CHECK(box.run({"/bin/echo", "still talking"}).out == "still talking\n");
}
