// soulboxd benchmarks through the bus, each next to the isolation library
// used directly in the same run:
//   1. the library: cold create -> agent ready, exec of /bin/true, cycles/s
//   2. bus round trips: raw NATS echo, and node health through the node actor
//   3. create through the bus: warm-pool hit (node given, and placed), cold
//   4. exec of /bin/true through the bus
//   5. sustained create -> exec -> kill per second
//   6. warm-pool acquire inside the daemon (its own statistics)
// Usage: daemon_bench [--rounds N] [--seconds S] [--root DIR]
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/client/agent_client.h"
#include "bench/bench_env.h"
#include "bench/stats.h"
#include "client/client.h"
#include "client/local_daemon.h"
#include "isolation/launcher_service.h"
#include "isolation/runtime.h"

using namespace soulbox;
using namespace soulbox::bench;
namespace fs = std::filesystem;

namespace {

struct Config {
  int rounds = 200;
  double seconds = 5;
  std::string root = "/var/lib/soulbox-bench-daemon";
};

[[noreturn]] void die(const std::string& what, const Error& e) {
  std::cerr << "daemon_bench: " << what << ": " << e.message << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what, r.error());
  return std::move(*r);
}

void row(const std::string& name, const Summary& s, double base, const std::string& base_name) {
  std::cout << "| " << name << " | " << fmt(s.p50) << " | " << fmt(s.p90) << " | " << fmt(s.p99) << " | "
            << fmt(s.p50 / base, 2) << "x " << base_name << " |\n";
}

void header(const std::string& title) {
  std::cout << "\n### " << title << "\n\n| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
}

ProcessSpec true_spec() {
  ProcessSpec s;
  s.argv = {"/bin/true"};
  return s;
}

struct LibraryFigures {
  Summary create, exec, launcher_create;
  double cycles_per_s = 0;
};

// In-process, before this process has any thread (the library refuses otherwise).
LibraryFigures measure_library(const Config& c) {
  isolation::RuntimeOptions o;
  o.data_dir = c.root + "/lib";
  o.cgroup_parent = "soulbox-bench";
  auto rt = must(isolation::Runtime::open(o), "Runtime::open");
  LibraryFigures f;
  std::vector<double> creates, execs;
  for (int i = 0; i < c.rounds / 2; ++i) {
    const double t0 = now_us();
    auto sb = must(rt->create({}), "create");
    AgentClient agent(sb->channel_fd());
    must(agent.handshake(), "handshake");
    creates.push_back(now_us() - t0);
  }
  auto sb = must(rt->create({}), "create");
  AgentClient agent(sb->channel_fd());
  must(agent.handshake(), "handshake");
  for (int i = 0; i < c.rounds; ++i) {
    const double t0 = now_us();
    must(agent.run(true_spec()), "exec");
    execs.push_back(now_us() - t0);
  }
  sb.reset();
  int cycles = 0;
  const double start = now_us();
  while (now_us() - start < c.seconds * 1e6) {
    auto box = must(rt->create({}), "create");
    AgentClient a(box->channel_fd());
    must(a.handshake(), "handshake");
    must(a.run(true_spec()), "exec");
    ++cycles;
  }
  f.cycles_per_s = cycles / ((now_us() - start) / 1e6);
  f.create = summarize(creates);
  f.exec = summarize(execs);
  rt.reset();
  // The launcher service soulboxd uses: the same create behind a socket.
  isolation::RuntimeOptions lo = o;
  lo.data_dir = c.root + "/launcher";
  auto launcher = must(isolation::LauncherClient::spawn(lo), "launcher");
  std::vector<double> remote;
  for (int i = 0; i < c.rounds / 2; ++i) {
    const double t0 = now_us();
    auto box = must(launcher->create({}), "launcher create");
    AgentClient a(box.channel.get());
    must(a.handshake(), "handshake");
    remote.push_back(now_us() - t0);
    (void)launcher->destroy(box.id);
  }
  f.launcher_create = summarize(remote);
  return f;
}

Summary measure_echo(const client::NodeAddress& address, int rounds) {
  auto responder = must(bus::Connection::connect(address.connect), "connect");
  auto sub = must(responder->subscribe("sb.v1.bench.echo", "",
                                       [r = responder.get()](bus::Message m) { (void)r->publish(m.reply, m.data); }),
                  "subscribe");
  (void)responder->flush(2000);
  auto requester = must(bus::Connection::connect(address.connect), "connect");
  std::vector<double> t;
  for (int i = 0; i < rounds; ++i) {
    const double t0 = now_us();
    must(requester->request("sb.v1.bench.echo", std::string(64, 'x'), 2000), "echo");
    t.push_back(now_us() - t0);
  }
  return summarize(t);
}

// Until the pool is full again: no refill competes with the timed create
// for the 2 CPUs (the sustained figures below include that contention).
void wait_warm(client::Client& c, const std::string& node) {
  for (int i = 0; i < 1000; ++i) {
    auto s = c.pool_stats(node);
    if (s && !s->empty() && s->front().warm >= s->front().min_warm) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Summary measure_create(client::Client& c, const std::string& node, int rounds, client::CreateOptions o, bool warm,
                       int* hits) {
  std::vector<double> t;
  for (int i = 0; i < rounds; ++i) {
    if (warm) wait_warm(c, node);
    const double t0 = now_us();
    auto info = must(c.create(o), "create");
    t.push_back(now_us() - t0);
    *hits += info.pool_hit;
    must(c.kill(info.id), "kill");
  }
  return summarize(t);
}

// Which call of a cycle failed, and how.
struct CycleFailure {
  std::string call;
  Error error;
};

// One create -> exec -> kill; the first call that fails, if any. A sandbox
// whose exec failed is still killed, so failures do not pile up.
std::optional<CycleFailure> cycle(client::Client& c) {
  auto info = c.create({});
  if (!info) return CycleFailure{"create", info.error()};
  auto ran = c.run(info->id, true_spec());
  auto killed = c.kill(info->id);
  if (!ran) return CycleFailure{"exec " + info->id, ran.error()};
  if (!killed) return CycleFailure{"kill " + info->id, killed.error()};
  return std::nullopt;
}

// Cycles per second over `seconds`; each worker stops at its first failure,
// which is printed (the call, the error code and message).
double sustained(client::Client& c, double seconds, int threads) {
  std::atomic<int> cycles{0};
  std::atomic<int> failures{0};
  std::mutex print_mu;
  const double start = now_us();
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w)
    workers.emplace_back([&, w] {
      while (now_us() - start < seconds * 1e6) {
        if (auto failed = cycle(c)) {
          ++failures;
          std::lock_guard<std::mutex> lock(print_mu);
          std::cerr << "daemon_bench: sustained, client thread " << w << ", after " << fmt((now_us() - start) / 1e6, 2)
                    << " s: " << failed->call << " failed: " << to_string(failed->error.code) << ": "
                    << failed->error.message << "\n";
          return;
        }
        ++cycles;
      }
    });
  for (auto& w : workers) w.join();
  if (failures)
    std::cerr << "(" << failures
              << " client thread(s) stopped at a failed cycle; the figure counts the cycles before)\n";
  return cycles / ((now_us() - start) / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout << "Usage: daemon_bench [--rounds N] [--seconds S] [--root DIR]\n"
                   "  --rounds N   samples per latency figure (default 200)\n"
                   "  --seconds S  length of each sustained run (default 5)\n"
                   "  --root DIR   working directory, emptied first (default /var/lib/soulbox-bench-daemon)\n";
      return 0;
    }
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) c.rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) c.seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--root")) c.root = argv[i + 1];
  }
  fresh_root(c.root);
  const std::string build = build_dir();

  std::cout << "## soulboxd benchmark\n\nhost: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores; rounds " << c.rounds
            << ", sustained " << c.seconds << " s\n";
  const LibraryFigures lib = measure_library(c);

  client::LocalDaemonOptions o;
  o.binary = build + "/soulboxd";
  o.root = c.root + "/daemon";
  fs::create_directories(o.root);
  o.args = {"--cgroup-parent", "soulbox-bench", "--pool-min", "4", "--pool-max", "8", "--node-id", "bench"};
  auto daemon = must(client::start_local_daemon(o), "start soulboxd");
  auto cl = must(client::Client::connect(daemon.address.connect), "connect");
  const std::string node = daemon.address.node;

  header("1. Bus round trips (µs)");
  const Summary echo = measure_echo(daemon.address, c.rounds);
  row("raw NATS request/reply, 64 B (two client connections)", echo, echo.p50, "raw");
  std::vector<double> health;
  for (int i = 0; i < c.rounds; ++i) {
    const double t0 = now_us();
    must(cl->health(node), "health");
    health.push_back(now_us() - t0);
  }
  row("node health through the node actor (verify, CAF, reply)", summarize(health), echo.p50, "raw");

  header("2. Create through the bus (µs)");
  row("library: create -> agent ready, in-process (cold)", lib.create, lib.create.p50, "library");
  int hits = 0;
  client::CreateOptions direct;
  direct.node = node;
  const Summary warm = measure_create(*cl, node, c.rounds, direct, true, &hits);
  row("bus: create, warm-pool hit, node given (" + std::to_string(hits) + "/" + std::to_string(c.rounds) + " hits)",
      warm, lib.create.p50, "library");
  hits = 0;
  const Summary placed = measure_create(*cl, node, c.rounds, {}, true, &hits);
  row("bus: place + create, warm-pool hit (" + std::to_string(hits) + " hits)", placed, lib.create.p50, "library");
  client::CreateOptions cold = direct;
  cold.memory_bytes = 256ull << 20;  // not the pool's limits: created on demand
  hits = 0;
  const Summary cold_s = measure_create(*cl, node, c.rounds / 2, cold, false, &hits);
  row("launcher service: create -> agent ready (JSON request, fds back)", lib.launcher_create, lib.create.p50,
      "library");
  row("bus: create, cold (limits differ from the pool's)", cold_s, lib.create.p50, "library");

  header("3. Exec of /bin/true in an existing sandbox (µs)");
  auto box = must(cl->create(direct), "create");
  std::vector<double> execs;
  for (int i = 0; i < c.rounds; ++i) {
    const double t0 = now_us();
    must(cl->run(box.id, true_spec()), "exec");
    execs.push_back(now_us() - t0);
  }
  const Summary bus_exec = summarize(execs);
  (void)cl->kill(box.id);
  row("library: AgentClient run", lib.exec, lib.exec.p50, "library");
  row("bus: exec (subscribe events, start, stream end)", bus_exec, lib.exec.p50, "library");
  std::cout << "\nExec through the bus costs **" << fmt(bus_exec.p50 - lib.exec.p50)
            << " µs** over the library (p50).\n";

  std::cout << "\n### 4. Sustained create -> exec /bin/true -> kill\n\n| what | cycles/s | ratio |\n|---|---:|---:|\n";
  std::cout << "| library, one thread, create -> exec -> destroy | " << fmt(lib.cycles_per_s) << " | 1.00x |\n";
  for (int threads : {1, 4}) {
    const double rate = sustained(*cl, c.seconds, threads);
    std::cout << "| bus, " << threads << " client thread(s), place + create -> exec -> kill | " << fmt(rate) << " | "
              << fmt(rate / lib.cycles_per_s, 2) << "x |\n";
  }

  auto stats = must(cl->pool_stats(node), "pool stats");
  std::cout << "\n### 5. Warm-pool acquire inside the daemon\n\n";
  for (const auto& t : stats)
    std::cout << "template " << t.template_name << ": p50 " << fmt(t.acquire_p50_us, 1) << " µs, p99 "
              << fmt(t.acquire_p99_us, 1) << " µs over the last " << std::min<uint64_t>(1000, t.hits + t.misses)
              << " acquires (" << t.hits << " hits, " << t.misses << " misses; a miss includes its cold create)\n";
  cl.reset();
  client::stop_local_daemon(daemon.pid);
  std::error_code ec;
  fs::remove_all(c.root, ec);
  return 0;
}
