// Isolation benchmarks, each next to its peers measured in the same run:
//   1. cold sandbox create -> agent ready (in-process, through the library)
//   2. exec of /bin/true in an existing sandbox vs plain posix_spawn
//   3. create -> exec -> destroy cycles per second on all cores
//   4. idle memory per sandbox (memcg, kernel memory included)
//   5. the seccomp allowlist: compile once, install per sandbox (budget 150 µs)
// Usage: isolation_bench [--rounds N] [--seconds S] [--idle N] [--data-dir DIR] [--only seccomp]
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/client/agent_client.h"
#include "bench/peers.h"
#include "bench/stats.h"
#include "isolation/runtime.h"
#include "isolation/seccomp_policy.h"

using namespace soulbox;
using namespace soulbox::bench;

namespace {

struct Config {
  int rounds = 300;
  double seconds = 5;
  int idle = 20;
  std::string data_dir = "/var/lib/soulbox-bench";
  std::string only;  // "seccomp": section 5 alone
};

std::unique_ptr<isolation::Runtime> open_runtime(const Config& c, int netns_pool = 4) {
  isolation::RuntimeOptions o;
  o.data_dir = c.data_dir;
  o.netns_pool = netns_pool;
  o.cgroup_parent = "soulbox-bench";
  auto rt = isolation::Runtime::open(o);
  if (!rt) {
    std::cerr << "Runtime::open: " << rt.error().message << "\n";
    std::exit(1);
  }
  return std::move(*rt);
}

// create() + the agent's Hello: the sandbox is ready for its first command.
std::unique_ptr<isolation::Sandbox> create_ready(isolation::Runtime& rt) {
  auto sb = rt.create({});
  if (!sb) {
    std::cerr << "create: " << sb.error().message << "\n";
    std::exit(1);
  }
  AgentClient client((*sb)->channel_fd());
  if (auto h = client.handshake(); !h) {
    std::cerr << "handshake: " << h.error().message << "\n";
    std::exit(1);
  }
  return std::move(*sb);
}

bool run_true(AgentClient& client) {
  ProcessSpec spec;
  spec.argv = {"/bin/true"};
  auto r = client.run(spec, 10000);
  return r && r->exit_code == 0;
}

// Waits (up to 60 s) until the machine is quiet: every CPU at least 90 %
// idle over one second, so a neighbour's compile does not skew a section.
void wait_quiet() {
  auto idle_total = [] {
    std::ifstream in("/proc/stat");
    std::string cpu;
    double v = 0, idle = 0, total = 0;
    in >> cpu;
    for (int i = 0; i < 10 && in >> v; ++i) {
      total += v;
      if (i == 3 || i == 4) idle += v;
    }
    return std::make_pair(idle, total);
  };
  for (int tries = 0; tries < 60; ++tries) {
    const auto [i0, t0] = idle_total();
    ::sleep(1);
    const auto [i1, t1] = idle_total();
    if (t1 > t0 && (i1 - i0) / (t1 - t0) >= 0.90) return;
  }
  std::cout << "(the machine did not become quiet within 60 s; figures below may be inflated)\n";
}

void row(const std::string& name, const Summary& s, double ref_p50, const std::string& ref_name) {
  std::cout << "| " << name << " | " << fmt(s.p50) << " | " << fmt(s.p90) << " | " << fmt(s.p99) << " | "
            << fmt(s.p50 / ref_p50, 2) << "x " << ref_name << " |\n";
}

void bench_cold_start(const Config& c, isolation::Runtime& rt, isolation::Runtime& no_pool) {
  std::vector<double> ready, ready_no_pool, cycle, plain, bwrap;
  const bool with_bwrap = have_bwrap();
  const auto bwrap_true = bwrap_argv({"/bin/true"});
  for (int i = 0; i < c.rounds; ++i) {  // round-robin: the peers share each moment's noise
    double t0 = now_us();
    auto sb = create_ready(rt);
    ready.push_back(now_us() - t0);
    AgentClient client(sb->channel_fd());
    run_true(client);
    (void)sb->destroy();
    cycle.push_back(now_us() - t0);
    t0 = now_us();
    auto fresh_net = create_ready(no_pool);
    ready_no_pool.push_back(now_us() - t0);
    (void)fresh_net->destroy();
    t0 = now_us();
    spawn_wait({"/bin/true"});
    plain.push_back(now_us() - t0);
    if (with_bwrap) {
      t0 = now_us();
      spawn_wait(bwrap_true);
      bwrap.push_back(now_us() - t0);
    }
  }
  const auto p = summarize(plain), b = summarize(bwrap), r = summarize(ready), cy = summarize(cycle),
             rn = summarize(ready_no_pool);
  std::cout << "\n### 1. Cold start (N=" << c.rounds << ", µs)\n\n"
            << "| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
  row("plain posix_spawn `/bin/true` + wait", p, p.p50, "plain");
  if (with_bwrap) row("`bwrap --unshare-all` `/bin/true` (whole process)", b, p.p50, "plain");
  row("**SoulBox create → agent ready** (in-process, netns from the pool)", r, p.p50, "plain");
  if (with_bwrap) row("SoulBox create → agent ready, vs bwrap", r, b.p50, "bwrap");
  row("SoulBox create → agent ready, netns made per create (pool off)", rn, p.p50, "plain");
  row("SoulBox create → exec `/bin/true` → destroy", cy, p.p50, "plain");
  if (with_bwrap) row("SoulBox full cycle, vs bwrap", cy, b.p50, "bwrap");
}

// Whole processes, as a person runs them: soulbox-isolate vs bwrap.
void bench_whole_process(const Config& c) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir(self, size_t(std::max<ssize_t>(n, 0)));
  dir = dir.substr(0, dir.rfind('/'));
  const std::vector<std::string> isolate = {dir + "/../soulbox-isolate", "--data-dir", c.data_dir, "--", "/bin/true"};
  if (::access(isolate[0].c_str(), X_OK) != 0) return;
  const auto bw = bwrap_argv({"/bin/true"});
  std::vector<double> ours, theirs;
  for (int i = 0; i < c.rounds / 3; ++i) {
    double t0 = now_us();
    spawn_wait(isolate);
    ours.push_back(now_us() - t0);
    if (have_bwrap()) {
      t0 = now_us();
      spawn_wait(bw);
      theirs.push_back(now_us() - t0);
    }
  }
  const auto o = summarize(ours), t = summarize(theirs);
  std::cout << "\n### 1b. Whole process, one sandbox per run (N=" << ours.size() << ", µs)\n\n"
            << "| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
  if (have_bwrap()) row("`bwrap --unshare-all ... /bin/true`", t, t.p50, "bwrap");
  row("`soulbox-isolate -- /bin/true` (runtime start-up, create, exec, destroy)", o, have_bwrap() ? t.p50 : o.p50,
      have_bwrap() ? "bwrap" : "itself");
}

// Alternates agent round trips and plain spawns of /bin/true.
std::pair<Summary, Summary> exec_rounds(int rounds, AgentClient& client) {
  std::vector<double> agent, plain;
  for (int i = 0; i < 20; ++i) run_true(client);  // warm the overlay's dentry cache
  for (int i = 0; i < rounds; ++i) {
    double t0 = now_us();
    run_true(client);
    agent.push_back(now_us() - t0);
    t0 = now_us();
    spawn_wait({"/bin/true"});
    plain.push_back(now_us() - t0);
  }
  return {summarize(agent), summarize(plain)};
}

// Exec round trips with the benchmark (and so the sandbox it creates, which
// inherits the affinity) on one CPU: wake-ups stay on that CPU instead of
// paying 45-90 µs for an inter-processor interrupt (docs/stack-notes.md S11).
std::pair<Summary, Summary> exec_pinned(const Config& c, isolation::Runtime& rt) {
  cpu_set_t all, one;
  ::sched_getaffinity(0, sizeof all, &all);
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  ::sched_setaffinity(0, sizeof one, &one);
  auto sb = create_ready(rt);
  AgentClient client(sb->channel_fd());
  client.set_spin_us(0);  // spinning on the only CPU would starve the agent
  auto result = exec_rounds(c.rounds * 3, client);
  (void)sb->destroy();
  ::sched_setaffinity(0, sizeof all, &all);
  return result;
}

void bench_exec(const Config& c, isolation::Runtime& rt) {
  const auto [pinned_agent, pinned_plain] = exec_pinned(c, rt);
  auto sb = create_ready(rt);
  AgentClient client(sb->channel_fd());
  const auto [a, p] = exec_rounds(c.rounds * 3, client);
  std::cout << "\n### 2. Exec in an existing sandbox (N=" << a.n << ", µs)\n\n"
            << "| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
  row("plain posix_spawn `/bin/true` + wait (host)", p, p.p50, "plain");
  row("**agent: start `/bin/true` → end event** (host ↔ agent round trip)", a, p.p50, "plain");
  row("plain posix_spawn, benchmark pinned to CPU 0", pinned_plain, pinned_plain.p50, "plain pinned");
  row("**agent round trip, benchmark and sandbox pinned to CPU 0**", pinned_agent, pinned_plain.p50, "plain pinned");
  std::cout << "\nOverhead over plain posix_spawn, p50: **" << fmt(a.p50 - p.p50) << " µs** unpinned, **"
            << fmt(pinned_agent.p50 - pinned_plain.p50) << " µs** pinned to one CPU\n";
}

// Runs `loop` in one worker process per core for c.seconds; returns ops/s.
template <class Loop>
double per_second(const Config& c, Loop loop) {
  const long workers = sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<int> pipes;
  std::vector<pid_t> pids;
  for (long w = 0; w < workers; ++w) {
    int fds[2];
    if (::pipe(fds) != 0) std::exit(1);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      long n = loop(c.seconds);
      (void)!::write(fds[1], &n, sizeof n);
      ::_exit(0);
    }
    ::close(fds[1]);
    pipes.push_back(fds[0]);
    pids.push_back(pid);
  }
  long total = 0;
  for (size_t i = 0; i < pids.size(); ++i) {
    long n = 0;
    if (::read(pipes[i], &n, sizeof n) == sizeof n) total += n;
    ::close(pipes[i]);
    ::waitpid(pids[i], nullptr, 0);
  }
  return double(total) / c.seconds;
}

void bench_throughput(const Config& c) {
  const double plain = per_second(c, [](double s) {
    long n = 0;
    for (double end = now_us() + s * 1e6; now_us() < end; ++n) spawn_wait({"/bin/true"});
    return n;
  });
  const auto bw = bwrap_argv({"/bin/true"});
  const double bwrap = have_bwrap() ? per_second(c,
                                                 [&](double s) {
                                                   long n = 0;
                                                   for (double end = now_us() + s * 1e6; now_us() < end; ++n)
                                                     spawn_wait(bw);
                                                   return n;
                                                 })
                                    : 0;
  const double soulbox = per_second(c, [&](double s) {
    auto rt = open_runtime(c);
    long n = 0;
    for (double end = now_us() + s * 1e6; now_us() < end; ++n) {
      auto sb = create_ready(*rt);
      AgentClient client(sb->channel_fd());
      run_true(client);
      (void)sb->destroy();
    }
    return n;
  });
  std::cout << "\n### 3. Throughput on " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, one worker per core ("
            << c.seconds << " s each)\n\n| what | per second | ratio |\n|---|---:|---:|\n"
            << "| plain posix_spawn `/bin/true` | " << fmt(plain) << " | 1.00x |\n";
  if (have_bwrap())
    std::cout << "| `bwrap --unshare-all` `/bin/true` | " << fmt(bwrap) << " | " << fmt(bwrap / plain, 2) << "x |\n";
  std::cout << "| **SoulBox create → exec `/bin/true` → destroy** | " << fmt(soulbox) << " | "
            << fmt(soulbox / plain, 2) << "x plain";
  if (have_bwrap()) std::cout << ", " << fmt(soulbox / bwrap, 2) << "x bwrap";
  std::cout << " |\n";
}

// Memory charged to a fresh memcg holding `count` idle peers.
double peer_idle_mib(const std::vector<std::string>& argv, int count) {
  const bool v1 = ::access("/sys/fs/cgroup/memory", F_OK) == 0;
  const std::string dir = v1 ? "/sys/fs/cgroup/memory/soulbox-bench-peer" : "/sys/fs/cgroup/soulbox-bench-peer";
  ::mkdir(dir.c_str(), 0755);
  std::vector<pid_t> pids;
  for (int i = 0; i < count; ++i) pids.push_back(spawn_in_cgroup(argv, dir + "/cgroup.procs"));
  ::usleep(500000);
  std::ifstream in(dir + (v1 ? "/memory.usage_in_bytes" : "/memory.current"));
  double bytes = 0;
  in >> bytes;
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (pid_t p : pids) ::waitpid(p, nullptr, 0);
  for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0; ++i) ::usleep(10000);
  return bytes / count / 1048576.0;
}

// On cgroup v1 the benchmark joins the memory cgroup above the sandboxes'
// groups, so the usage delta also holds what creation charges to the creator
// (namespaces, mounts, page tables made before the child is attached).
double read_u64_file(const std::string& path) {
  std::ifstream in(path);
  double v = 0;
  in >> v;
  return v;
}

void bench_idle_memory(const Config& c, isolation::Runtime& rt) {
  const std::string parent = "/sys/fs/cgroup/memory/soulbox-bench";
  const bool hierarchical = ::access((parent + "/cgroup.procs").c_str(), F_OK) == 0;
  std::string own_group;
  if (hierarchical) {
    std::ifstream self("/proc/self/cgroup");
    for (std::string line; std::getline(self, line);)
      if (line.find(":memory:") != std::string::npos) own_group = line.substr(line.find(":memory:") + 8);
    std::ofstream(parent + "/cgroup.procs") << ::getpid();
  }
  ::usleep(200000);
  const double before = hierarchical ? read_u64_file(parent + "/memory.usage_in_bytes") : 0;
  std::vector<std::unique_ptr<isolation::Sandbox>> boxes;
  for (int i = 0; i < c.idle; ++i) boxes.push_back(create_ready(rt));
  ::usleep(500000);
  double sum = 0;
  for (auto& b : boxes) sum += double(b->cgroup().usage()->memory_current);
  if (hierarchical) sum = read_u64_file(parent + "/memory.usage_in_bytes") - before;
  const double soulbox = sum / c.idle / 1048576.0;
  boxes.clear();
  if (hierarchical) std::ofstream("/sys/fs/cgroup/memory" + own_group + "/cgroup.procs") << ::getpid();
  const double sleep_floor = peer_idle_mib({"/bin/sleep", "600"}, c.idle);
  const double bwrap = have_bwrap() ? peer_idle_mib(bwrap_argv({"/bin/sleep", "600"}), c.idle) : 0;
  std::cout << "\n### 4. Idle memory per sandbox (" << c.idle
            << " idle instances, memcg usage incl. kernel memory, MiB)\n\n"
            << "| what | MiB each |\n|---|---:|\n"
            << "| plain `sleep` (no isolation, floor) | " << fmt(sleep_floor, 2) << " |\n";
  if (have_bwrap()) std::cout << "| `bwrap --unshare-all` + `sleep` | " << fmt(bwrap, 2) << " |\n";
  std::cout << "| **SoulBox sandbox, agent only** ("
            << (hierarchical ? "delta of the parent memcg, creator's charges included" : "sum of the sandboxes' memcgs")
            << ") | " << fmt(soulbox, 2) << " |\n";
}

// Microseconds a fresh child spends in `install` (the prctl a sandbox makes
// before its agent execs), read back through a pipe.
template <class Install>
double child_install_us(Install install) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const double t0 = now_us();
    const bool ok = install();
    const double us = ok ? now_us() - t0 : -1;
    (void)!::write(fds[1], &us, sizeof us);
    ::_exit(0);
  }
  ::close(fds[1]);
  double us = -1;
  if (::read(fds[0], &us, sizeof us) != sizeof us) us = -1;
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return us;
}

void bench_seccomp(const Config& c) {
  const double t0 = now_us();
  auto program = isolation::build_seccomp_program();
  const double compile_us = now_us() - t0;
  if (!program) {
    std::cerr << "seccomp: " << program.error().message << "\n";
    std::exit(1);
  }
  std::vector<double> install, bare;
  for (int i = 0; i < c.rounds; ++i) {  // round-robin with the empty child
    install.push_back(child_install_us([&] { return isolation::install_seccomp_program(*program) == 0; }));
    bare.push_back(child_install_us([] { return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0; }));
  }
  const auto in = summarize(install), b = summarize(bare);
  std::cout << "\n### 5. Seccomp allowlist (N=" << c.rounds << ", µs)\n\n"
            << "compiled once per node in " << fmt(compile_us) << " µs: " << program->instructions.size()
            << " BPF instructions\n\n| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
  row("install in a fresh child (no_new_privs + filter)", in, b.p50, "no_new_privs alone");
  row("no_new_privs alone", b, b.p50, "itself");
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--rounds")
      c.rounds = std::atoi(argv[i + 1]);
    else if (k == "--seconds")
      c.seconds = std::atof(argv[i + 1]);
    else if (k == "--idle")
      c.idle = std::atoi(argv[i + 1]);
    else if (k == "--data-dir")
      c.data_dir = argv[i + 1];
    else if (k == "--only" && std::string(argv[i + 1]) == "seccomp")
      c.only = argv[i + 1];
    else {
      std::cerr << "usage: isolation_bench [--rounds N] [--seconds S] [--idle N] [--data-dir DIR] [--only seccomp]\n";
      return 2;
    }
  }
  std::cout << "## SoulBox isolation benchmark\n\nhost: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores; peers run "
            << "round-robin with SoulBox in the same process; bwrap: " << (have_bwrap() ? "yes" : "not installed")
            << "\n";
  if (c.only == "seccomp") {
    wait_quiet();
    bench_seccomp(c);
    return 0;
  }
  auto rt = open_runtime(c);
  auto no_pool = open_runtime(c, 0);
  std::cout << "cgroups: " << rt->cgroup_version() << "\n";
  wait_quiet();
  bench_cold_start(c, *rt, *no_pool);
  no_pool.reset();
  wait_quiet();
  bench_whole_process(c);
  wait_quiet();
  bench_exec(c, *rt);
  wait_quiet();
  bench_idle_memory(c, *rt);
  rt.reset();
  wait_quiet();
  bench_throughput(c);
  wait_quiet();
  bench_seccomp(c);
  return 0;
}
