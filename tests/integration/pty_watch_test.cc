// PTY sessions and directory watches.
#include <algorithm>
#include <catch2/catch.hpp>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

namespace {
// Reads output of `id` until `needle` appears.
std::string read_until(AgentClient& c, uint64_t id, const std::string& needle) {
  std::string seen;
  for (int i = 0; i < 100 && seen.find(needle) == std::string::npos; ++i) {
    auto f = c.wait_for(id, 5000);
    REQUIRE(f.ok());
    const auto* out = f->frame().body_as_ProcOutput();
    REQUIRE(out);
    CHECK(out->stream() == agentproto::Stream::Pty);
    seen.append(reinterpret_cast<const char*>(out->data()->data()), out->data()->size());
  }
  return seen;
}
}  // namespace

TEST_CASE("a pty echoes input and reports its size and resizes", "[integration][pty]") {
  auto box = make_box();
  ProcessSpec spec;
  spec.argv = {"/bin/bash", "--norc", "--noprofile", "-i"};
  spec.pty = std::make_pair(uint16_t(30), uint16_t(100));
  spec.env = {"PS1=$ "};
  uint64_t id = 0;
  auto pid = box.client->start(spec, &id);
  REQUIRE(pid.ok());
  REQUIRE(box.client->send_input(*pid, "tty; stty size\n").ok());
  auto out = read_until(*box.client, id, "30 100");
  CHECK_THAT(out, Catch::Contains("tty; stty size"));  // echoed by the terminal
  CHECK_THAT(out, Catch::Contains("/dev/pts/0"));
  REQUIRE(box.client->resize(*pid, 50, 132).ok());
  REQUIRE(box.client->send_input(*pid, "stty size\n").ok());
  read_until(*box.client, id, "50 132");
  REQUIRE(box.client->send_input(*pid, "exit 5\n").ok());
  auto r = box.client->wait(id, 5000);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 5);
}

TEST_CASE("a resize overwritten by the program's own write-back of the old size still holds", "[integration][pty]") {
  auto box = make_box();
  // What readline does each time it prepares a line, with a pause between
  // its read of the size and its write-back: a resize in that pause is
  // overwritten unless the agent sets it again.
  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", "-c",
               "import fcntl, sys, termios, time\n"
               "old = fcntl.ioctl(0, termios.TIOCGWINSZ, b'\\0' * 8)\n"
               "print('read', flush=True)\n"
               "time.sleep(1)\n"
               "fcntl.ioctl(0, termios.TIOCSWINSZ, old)\n"
               "print('wrote back', flush=True)\n"
               "time.sleep(0.5)\n"
               "import struct\n"
               "rows, cols = struct.unpack('HH', fcntl.ioctl(0, termios.TIOCGWINSZ, b'\\0' * 8)[:4])\n"
               "print('size', rows, cols, flush=True)\n"};
  spec.pty = std::make_pair(uint16_t(24), uint16_t(80));
  uint64_t id = 0;
  auto pid = box.client->start(spec, &id);
  REQUIRE(pid.ok());
  read_until(*box.client, id, "read");
  REQUIRE(box.client->resize(*pid, 50, 132).ok());
  auto out = read_until(*box.client, id, "size");
  if (out.find('\n', out.find("size")) == std::string::npos) out += read_until(*box.client, id, "\n");
  CHECK_THAT(out, Catch::Contains("size 50 132"));
  auto r = box.client->wait(id, 5000);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
}

TEST_CASE("watch reports creates, writes, renames and removes, recursively", "[integration][watch]") {
  auto box = make_box();
  REQUIRE(box.client->make_dir("/home/user/w").ok());
  uint64_t id = 0;
  auto watch = box.client->watch("/home/user/w", true, &id);
  REQUIRE(watch.ok());
  REQUIRE(box.sh("mkdir /home/user/w/sub && sleep 0.1 && echo x > /home/user/w/sub/f && "
                 "mv /home/user/w/sub/f /home/user/w/g && rm /home/user/w/g")
              .exit_code == 0);
  std::vector<std::pair<std::string, agentproto::WatchOp>> events;
  for (;;) {
    auto f = box.client->wait_for(id, 1000);
    if (!f) break;
    const auto* ev = f->frame().body_as_WatchEvent();
    REQUIRE(ev);
    CHECK(ev->watch_id() == *watch);
    events.emplace_back(ev->path()->str(), ev->op());
  }
  auto has = [&](const std::string& path, agentproto::WatchOp op) {
    for (const auto& e : events)
      if (e.first == path && e.second == op) return true;
    return false;
  };
  CHECK(has("/home/user/w/sub", agentproto::WatchOp::Create));
  CHECK(has("/home/user/w/sub/f", agentproto::WatchOp::Create));  // inside the new subdirectory
  CHECK(has("/home/user/w/sub/f", agentproto::WatchOp::Write));
  CHECK(has("/home/user/w/sub/f", agentproto::WatchOp::Rename));  // moved away (fsnotify's meaning)
  CHECK(has("/home/user/w/g", agentproto::WatchOp::Create));      // moved in
  CHECK(has("/home/user/w/g", agentproto::WatchOp::Remove));

  REQUIRE(box.client->unwatch(*watch).ok());
  REQUIRE(box.sh("touch /home/user/w/after").exit_code == 0);
  CHECK_FALSE(box.client->wait_for(id, 300).ok());  // no events after unwatch
  CHECK(box.client->watch("/home/user/none", false, nullptr).error().code == ErrorCode::not_found);
}

TEST_CASE("a recursive watch reports no names inside directories its user cannot read", "[integration][watch]") {
  auto box = make_box();
  // Root's directory, readable by everyone; inside it root makes one
  // private directory before the watch and one while it runs, next to an
  // open one.
  REQUIRE(box.client->make_dir("/home/user/w", "root").ok());
  REQUIRE(box.as_root("mkdir -m 0700 /home/user/w/before").exit_code == 0);
  uint64_t id = 0;
  auto watch = box.client->watch("/home/user/w", true, &id);  // as user
  REQUIRE(watch.ok());
  REQUIRE(box.as_root("mkdir -m 0700 /home/user/w/secret && mkdir -m 0755 /home/user/w/open && sleep 0.1 && "
                      "echo x > /home/user/w/secret/leak.txt && echo x > /home/user/w/before/leak2.txt && "
                      "echo x > /home/user/w/open/seen.txt")
              .exit_code == 0);
  REQUIRE(box.sh("ls /home/user/w/secret").exit_code != 0);  // user cannot read it indeed
  std::vector<std::string> paths;
  for (;;) {
    auto f = box.client->wait_for(id, 1000);
    if (!f) break;
    const auto* ev = f->frame().body_as_WatchEvent();
    REQUIRE(ev);
    paths.push_back(ev->path()->str());
  }
  auto seen = [&](const std::string& path) { return std::find(paths.begin(), paths.end(), path) != paths.end(); };
  CHECK(seen("/home/user/w/secret"));  // its name is in a readable directory
  CHECK(seen("/home/user/w/open/seen.txt"));
  for (const auto& path : paths) {
    INFO(path);
    CHECK(path.find("leak") == std::string::npos);
  }
  REQUIRE(box.client->unwatch(*watch).ok());
}
