// Attempts to reach the host or a neighbour from inside a sandbox.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/support/sandbox_env.h"

using namespace soulbox;
using namespace soulbox::test;

namespace {
struct Canary {
  std::string path, secret;
  Canary() {
    secret = "canary-" + std::to_string(std::random_device{}());
    path = "/tmp/soulbox-canary-" + std::to_string(::getpid());
    std::ofstream(path) << secret;
  }
  ~Canary() { ::unlink(path.c_str()); }
  bool intact() const {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {}) == secret;
  }
};
}  // namespace

TEST_CASE("a host canary file cannot be read from inside", "[security][escape]") {
  Canary canary;
  auto box = make_box();
  const std::string attempts = "cat " + canary.path + " /proc/1/root" + canary.path + " /proc/self/root" + canary.path +
                               " 2>/dev/null; find / -xdev -name 'soulbox-canary-*' 2>/dev/null; grep -rs " +
                               canary.secret + " /tmp /home /proc/1/cwd 2>/dev/null";
  auto r = box.sh(attempts);
  CHECK_THAT(r.out, !Catch::Contains(canary.secret));
  auto root = box.as_root(attempts);
  CHECK_THAT(root.out, !Catch::Contains(canary.secret));
  CHECK(canary.intact());
}

TEST_CASE("the sandbox sees no host fds, processes or mounts", "[security][escape]") {
  auto box = make_box();
  auto fds = box.run({"/opt/probes/probe", "fds"});
  // Only 0, 1, 2: stdin (/dev/null) and the two output pipes.
  std::istringstream in(fds.out);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "0 -> /dev/null");
  CHECK_THAT(lines[1], Catch::StartsWith("1 -> pipe:"));
  CHECK_THAT(lines[2], Catch::StartsWith("2 -> pipe:"));
  // The agent's fds (its host channel) are out of reach.
  CHECK_THAT(box.sh("ls /proc/1/fd 2>&1").out, Catch::Contains("Permission denied"));
  // Only the sandbox's own processes are visible: the agent is PID 1 and
  // this shell's pipeline is all there is besides.
  CHECK(box.sh("cat /proc/1/comm").out == "soulbox-agent\n");
  const int visible = std::stoi(box.sh("ls -d /proc/[0-9]* | wc -l").out);
  CHECK(visible >= 3);  // agent, sh, ls (wc may not have started yet)
  CHECK(visible <= 4);
  // cwd and root are inside.
  CHECK(box.sh("readlink /proc/self/cwd /proc/self/root").out == "/home/user\n/\n");
  // Only the mounts the template and the test asked for exist inside.
  auto points =
      box.sh("awk '{print $5}' /proc/self/mountinfo | sed -E 's#^/(proc|dev)/.*#/\\1/*#' | sort -u | tr '\\n' ' '");
  CHECK(points.out == "/ /dev /dev/* /opt/probes /proc /proc/* /tmp /usr ");
  CHECK_THAT(box.sh("ls /sys 2>&1").out, Catch::Contains("No such file"));
}

TEST_CASE("mounts made inside do not propagate and host mounts are not visible", "[security][escape]") {
  const size_t before = host_mount_count();
  auto box = make_box();
  auto r = box.as_root("mount -t tmpfs none /mnt 2>&1; echo rc=$?");
  CHECK_THAT(r.out, Catch::Contains("rc=32"));  // mount(8) reports the filter's EPERM
  CHECK(host_mount_count() == before);
  // One root mount, private (no "shared:" peer group in its optional fields).
  CHECK(box.sh("awk '$5 == \"/\"' /proc/self/mountinfo | wc -l").out == "1\n");
  CHECK_THAT(box.sh("awk '$5 == \"/\"' /proc/self/mountinfo").out, !Catch::Contains("shared:"));
}

TEST_CASE("writes to /proc, /sys and host settings are refused", "[security][escape]") {
  auto box = make_box();
  for (const std::string user : {"user", "root"}) {
    ProcessSpec spec;
    spec.argv = {"/opt/probes/probe", "host-settings"};
    spec.user = user;
    auto r = box.client->run(spec);
    REQUIRE(r.ok());
    INFO(user << ":\n" << r->out);
    CHECK_THAT(r->out, !Catch::Contains("=OK"));
    // Refused by permissions (host-owned files are unmapped inside) or by the
    // read-only /proc/sys bind, whichever the kernel checks first.
    CHECK_THAT(r->out, Catch::Contains("/proc/sys/kernel/core_pattern=EACCES") ||
                           Catch::Contains("/proc/sys/kernel/core_pattern=EROFS"));
    CHECK_THAT(r->out, Catch::Contains("/sys/kernel/uevent_helper=ENOENT"));
    CHECK_THAT(r->out, Catch::Contains("/proc/1/mem=EACCES"));
    // The agent's binary is a sealed in-memory copy: not writable, even by root inside.
    CHECK_THAT(r->out, Catch::Contains("/proc/1/exe=EACCES") || Catch::Contains("/proc/1/exe=EPERM") ||
                           Catch::Contains("/proc/1/exe=ETXTBSY"));
  }
  // Masked files read as empty.
  auto masked = box.as_root(
      "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do "
      "[ -e $f ] && echo \"$f $(wc -c < $f)\"; done");
  INFO(masked.out);
  CHECK_THAT(masked.out, Catch::Contains("/proc/timer_list 0\n"));
  CHECK_THAT(masked.out, Catch::Contains("/proc/keys 0\n"));
}

TEST_CASE("device nodes cannot be created and /dev is minimal and read-only", "[security][escape]") {
  // Both flavours of /dev: the prepared skeleton (default) and tmpfs + node binds.
  isolation::RuntimeOptions o = runtime().options();
  o.prepared_dev = false;
  o.netns_pool = 0;
  auto plain_dev_runtime = isolation::Runtime::open(o);
  REQUIRE(plain_dev_runtime.ok());
  auto tmpfs_dev = (*plain_dev_runtime)->create({});
  REQUIRE(tmpfs_dev.ok());
  AgentClient tmpfs_client((*tmpfs_dev)->channel_fd());
  REQUIRE(tmpfs_client.handshake().ok());
  ProcessSpec ls;
  ls.argv = {"/bin/sh", "-c",
             "ls /dev | tr '\\n' ' '; echo x > /dev/null && head -c 3 /dev/urandom | wc -c; touch /dev/f 2>&1"};
  auto r0 = tmpfs_client.run(ls);
  REQUIRE(r0.ok());
  CHECK_THAT(r0->out, Catch::StartsWith("fd full null ptmx pts random shm stderr stdin stdout tty urandom zero 3\n"));
  CHECK_THAT(r0->out, Catch::Contains("Read-only file system"));
  (void)(*tmpfs_dev)->destroy();

  auto box = make_box();
  CHECK(box.sh("ls /dev | tr '\\n' ' '").out ==
        "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ");
  auto r = box.as_root("mknod /tmp/sda b 8 0 2>&1; touch /dev/newfile 2>&1; echo done");
  CHECK_THAT(r.out, Catch::Contains("Operation not permitted"));
  CHECK_THAT(r.out, Catch::Contains("Read-only file system"));
  CHECK(box.sh("echo hi > /dev/null && head -c 4 /dev/zero | wc -c").out == "4\n");
}

TEST_CASE("kill -9 -1 inside reaches only the sandbox's own processes", "[security][escape]") {
  auto host = run_host({"/bin/sh", "-c", "sleep 30 > /dev/null 2>&1 & echo $!"});
  const pid_t host_sleeper = std::stoi(host.out);
  auto box = make_box();
  auto neighbour = make_box();
  const uint64_t victim_id = box.start({"/bin/sleep", "30"}).id;
  // Linux spares the caller and PID 1; everything else of this uid dies.
  auto r = box.sh("kill -9 -1; echo survived");
  CHECK(r.out == "survived\n");
  auto v = box.client->wait(victim_id, 5000);
  REQUIRE(v.ok());
  CHECK(v->signal == 9);
  CHECK(::kill(host_sleeper, 0) == 0);  // host process untouched
  CHECK(box.sandbox->agent_alive());
  // PID 1 of a namespace ignores signals from inside that it has no handler for.
  box.as_root("kill -9 -1; kill -9 1; kill -TERM 1");
  CHECK(box.sandbox->agent_alive());
  CHECK(box.run({"/bin/echo", "agent still serving"}).out == "agent still serving\n");
  CHECK(neighbour.run({"/bin/echo", "fine"}).out == "fine\n");
  ::kill(host_sleeper, SIGKILL);
}

TEST_CASE("network: loopback only, and the host's loopback is unreachable", "[security][escape]") {
  // A listener on the host's 127.0.0.1: the sandbox must not reach it.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 8) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  auto box = make_box();
  auto ifaces = box.run({"/usr/bin/python3", "-c", "import socket; print([n for _, n in socket.if_nameindex()])"});
  CHECK(ifaces.out == "['lo']\n");
  auto connect = box.run({"/usr/bin/python3", "-c",
                          "import socket\ns = socket.socket()\ns.settimeout(2)\n"
                          "try:\n  s.connect(('127.0.0.1', " +
                              std::to_string(port) +
                              "))\n  print('connected')\n"
                              "except OSError as e:\n  print(type(e).__name__)"});
  CHECK(connect.out == "ConnectionRefusedError\n");
  struct pollfd pfd {
    listener, POLLIN, 0
  };
  CHECK(::poll(&pfd, 1, 100) == 0);  // nothing ever arrived
  ::close(listener);
  // The sandbox's own loopback works.
  auto local = box.run(
      {"/usr/bin/python3", "-c",
       "import socket\na = socket.socket(); a.bind(('127.0.0.1', 0)); a.listen()\n"
       "b = socket.create_connection(a.getsockname()); c, _ = a.accept(); b.send(b'ok'); print(c.recv(2).decode())"});
  CHECK(local.out == "ok\n");
}

TEST_CASE("root inside cannot reconfigure the sandbox's network", "[security][escape]") {
  auto box = make_box();
  auto r = box.as_root("ip link set lo down 2>&1; ip addr add 10.9.9.9/32 dev lo 2>&1; ip -o link | wc -l");
  CHECK_THAT(r.out, Catch::Contains("Operation not permitted"));
  CHECK_THAT(r.out, Catch::EndsWith("1\n"));
  CHECK(box.sh("cat /sys/class/net/lo/operstate 2>/dev/null || ip -o link show lo").exit_code == 0);
  auto still = box.run(
      {"/usr/bin/python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print('lo up')"});
  CHECK(still.out == "lo up\n");
}

TEST_CASE("neighbours cannot see or signal each other", "[security][escape]") {
  auto a = make_box();
  auto b = make_box();
  a.start({"/bin/sleep", "30"});
  // b sees only its own processes; a's sleep has no pid in b's namespace.
  CHECK_THAT(b.sh("cat /proc/[0-9]*/comm").out, !Catch::Contains("sleep"));
  REQUIRE(a.client->kill_all().ok());
}
