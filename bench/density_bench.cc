// Density through the bus: a private soulboxd, N idle sandboxes with the
// node's default limits created through the scheduler and kept alive, then
// all killed. Reports the create rate, the host's memory per sandbox all-in
// (MemAvailable before minus after, divided by N), soulboxd's RSS and
// threads at full density, exec of /bin/true in a random 1 % of them, the
// time to kill them all, and what is left after (cgroups, scratch dirs,
// mounts, processes, id-slot leases). Peers in the same run: posix_spawn of
// /bin/true, the same exec on the empty node, and the 1 MiB target.
// Exits 1 when an exec, a kill or a create (other than a refusal) failed or
// anything was left. Not part of CI; needs root.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_env.h"
#include "bench/peers.h"
#include "bench/sandbox_traces.h"
#include "bench/stats.h"
#include "client/client.h"
#include "client/local_daemon.h"

using namespace soulbox;
using namespace soulbox::bench;
namespace fs = std::filesystem;

namespace {

constexpr int kGiveUpAfter = 50;       // failed creates in a row
constexpr int kFloorRounds = 100;      // samples of each peer
constexpr double kTargetMiB = 1.0;     // memory per idle sandbox, all-in
constexpr double kSettleS = 3;         // after the creates: memory settles, the node measures
constexpr double kLeftoverWaitS = 30;  // for the traces of killed sandboxes to go

const char* const kUsage =
    "Usage: density_bench [options] [-- soulboxd flags...]\n"
    "  --count N           sandboxes to create and keep (default 10000)\n"
    "  --concurrency C     creates (and kills) in flight (default 8)\n"
    "  --root DIR          working directory, emptied first (default /var/lib/soulbox-bench-density)\n"
    "  --cgroup-parent P   soulboxd's cgroup parent, must hold no groups (default soulbox-bench-density)\n"
    "  --open-files N      soulboxd's RLIMIT_NOFILE, soft and hard (default: ours; the launcher holds\n"
    "                      3 per sandbox, so 10,000 need ~30,100; raising the hard limit needs\n"
    "                      CAP_SYS_RESOURCE)\n"
    "  --lifetime S        each sandbox's timeout (default 3600)\n"
    "Flags after -- go to soulboxd as they are (its defaults otherwise: warm pool, admission).\n";

struct Config {
  size_t count = 10000;
  int concurrency = 8;
  std::string root = "/var/lib/soulbox-bench-density";
  std::string cgroup_parent = "soulbox-bench-density";
  uint64_t open_files = 0;  // 0: this process's
  double lifetime_s = 3600;
  std::vector<std::string> daemon_args;
};

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "density_bench: " << what << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) fail(what + ": " + r.error().message);
  return std::move(*r);
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (a == "--") {
      c.daemon_args.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc) fail(a + " needs a value (--help)");
    const std::string v = argv[++i];
    if (a == "--count")
      c.count = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--concurrency")
      c.concurrency = std::atoi(v.c_str());
    else if (a == "--root")
      c.root = v;
    else if (a == "--cgroup-parent")
      c.cgroup_parent = v;
    else if (a == "--open-files")
      c.open_files = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--lifetime")
      c.lifetime_s = std::atof(v.c_str());
    else
      fail("unknown option " + a + " (--help)");
  }
  if (c.count < 1 || c.concurrency < 1 || c.lifetime_s < 1) fail("--count, --concurrency and --lifetime must be >= 1");
  if (std::find(c.daemon_args.begin(), c.daemon_args.end(), "--cgroup-parent") != c.daemon_args.end())
    fail("give the cgroup parent as density_bench's --cgroup-parent (it looks for leftovers there)");
  return c;
}

// --- the host and the daemon's processes --------------------------------------------

struct ProcStatus {
  uint64_t rss_kib = 0;
  int threads = 0;
};

ProcStatus proc_status(pid_t pid) {
  ProcStatus s;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atoi(line.c_str() + 8);
  }
  return s;
}

uint64_t meminfo_kib(const std::string& field) {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  return 0;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string open_file_limits() {
  struct rlimit r {};
  ::getrlimit(RLIMIT_NOFILE, &r);
  return std::to_string(r.rlim_cur) + " soft, " + std::to_string(r.rlim_max) + " hard (ours, inherited)";
}

double mib(double kib) {
  return kib / 1024;
}

// The processes whose memory and threads are reported.
struct NodeProcesses {
  ProcStatus daemon, launcher, nats;
};

struct Node {
  client::LocalDaemon daemon;
  pid_t launcher = -1, nats = -1;
  std::unique_ptr<client::Client> client;
  std::string data_dir, run_dir, log;
  std::string density;  // soulboxd's "density: this node can hold N sandboxes; ..." line

  NodeProcesses processes() const { return {proc_status(daemon.pid), proc_status(launcher), proc_status(nats)}; }
  std::vector<std::string> mountinfo_files() const {
    return {"/proc/1/mountinfo", "/proc/" + std::to_string(daemon.pid) + "/mountinfo",
            "/proc/" + std::to_string(launcher) + "/mountinfo"};
  }
};

// The line of soulboxd's output that starts with `prefix`, without it.
std::string output_line(const std::string& log, const std::string& prefix) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);)
    if (auto at = line.find(prefix); at != std::string::npos) return line.substr(at + prefix.size());
  return "";
}

Node start_node(const Config& c) {
  client::LocalDaemonOptions o;
  o.binary = build_dir() + "/soulboxd";
  o.root = c.root + "/daemon";
  fs::create_directories(o.root);
  o.args = {"--cgroup-parent", c.cgroup_parent, "--node-id", "density"};
  o.args.insert(o.args.end(), c.daemon_args.begin(), c.daemon_args.end());
  o.open_file_limit = c.open_files;
  Node n;
  auto started = client::start_local_daemon(o);
  if (!started) {
    const std::string& why = started.error().message;
    // It exits before printing anything when its open-files limit could not be set.
    const bool silent = why.size() >= 2 && why.compare(why.size() - 2, 2, ":\n") == 0;
    fail("start soulboxd: " + why + (silent ? "(no output: is --open-files above this process's hard limit?)" : ""));
  }
  n.daemon = *started;
  n.client = must(client::Client::connect(n.daemon.address.connect), "connect");
  n.data_dir = o.root + "/data";
  n.run_dir = o.root + "/run";
  n.log = o.root + "/soulboxd.out";
  n.density = output_line(n.log, "soulboxd: density: ");
  n.launcher = std::atoi(output_line(n.log, "launcher pid ").c_str());
  for (pid_t child : children_of(n.daemon.pid))
    if (command_name(child) == "nats-server") n.nats = child;
  return n;
}

// Until every template's warm pool is full (at most 10 s): a refill is not
// counted as a sandbox, nor does it compete with a timed call.
void wait_warm(client::Client& c, const std::string& node) {
  for (int i = 0; i < 1000; ++i) {
    auto stats = c.pool_stats(node);
    if (stats && std::all_of(stats->begin(), stats->end(), [](const auto& t) { return t.warm >= t.min_warm; })) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::microseconds(int64_t(s * 1e6)));
}

// --- the measurements -----------------------------------------------------------------

client::CreateOptions create_options(const Config& c) {
  client::CreateOptions o;  // the node's default limits and template
  o.timeout_ms = uint64_t(c.lifetime_s * 1000);
  return o;
}

ProcessSpec true_spec() {
  ProcessSpec s;
  s.argv = {"/bin/true"};
  return s;
}

// Runs task(i) for i in [0, count) on `threads` threads; hands out no more
// once `stop` is set.
void parallel_for(int threads, size_t count, std::atomic<bool>& stop, const std::function<void(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w)
    workers.emplace_back([&] {
      while (!stop) {
        const size_t i = next++;
        if (i >= count) return;
        task(i);
      }
    });
  for (auto& w : workers) w.join();
}

struct Floors {
  Summary spawn;       // posix_spawn + waitpid of /bin/true
  Summary empty_exec;  // exec of /bin/true through the bus, the node's only sandbox (and its warm pool)
};

Floors measure_floors(const Config& cfg, Node& n) {
  Floors f;
  std::vector<double> t;
  for (int i = 0; i < kFloorRounds; ++i) {
    const double t0 = now_us();
    if (spawn_wait({"/bin/true"}) != 0) fail("posix_spawn of /bin/true failed");
    t.push_back(now_us() - t0);
  }
  f.spawn = summarize(t);
  auto box = must(n.client->create(create_options(cfg)), "create (empty node)");
  t.clear();
  for (int i = 0; i < kFloorRounds; ++i) {
    const double t0 = now_us();
    auto r = must(n.client->run(box.id, true_spec()), "exec (empty node)");
    if (r.exit_code != 0) fail("exec of /bin/true on the empty node exited " + std::to_string(r.exit_code));
    t.push_back(now_us() - t0);
  }
  f.empty_exec = summarize(t);
  must(n.client->kill(box.id), "kill (empty node)");
  return f;
}

struct Fill {
  std::vector<std::string> ids;  // created, in the order they were answered
  size_t refused = 0, errors = 0;
  std::string first_refusal, first_error;
  double seconds = 0;
  bool gave_up = false;  // kGiveUpAfter failures in a row
};

// A refusal (resource_exhausted: admission, the host's limits) is counted
// and creating goes on; so is any other error, which fails the run.
Fill create_all(const Config& cfg, client::Client& c) {
  Fill f;
  std::mutex mu;
  std::atomic<bool> stop{false};
  int failed_in_a_row = 0;
  const client::CreateOptions o = create_options(cfg);
  const size_t progress_every = std::max<size_t>(1, cfg.count / 10);
  const double t0 = now_us();
  parallel_for(cfg.concurrency, cfg.count, stop, [&](size_t) {
    auto info = c.create(o);
    std::lock_guard<std::mutex> lock(mu);
    if (info) {
      f.ids.push_back(info->id);
      failed_in_a_row = 0;
      if (f.ids.size() % progress_every == 0)
        std::cerr << "density_bench: " << f.ids.size() << " created, " << fmt((now_us() - t0) / 1e6, 1) << " s\n";
      return;
    }
    const bool refused = info.error().code == ErrorCode::resource_exhausted;
    ++(refused ? f.refused : f.errors);
    std::string& first = refused ? f.first_refusal : f.first_error;
    if (first.empty()) first = std::string(to_string(info.error().code)) + ": " + info.error().message;
    if (++failed_in_a_row >= kGiveUpAfter) f.gave_up = stop = true;
  });
  f.seconds = (now_us() - t0) / 1e6;
  return f;
}

struct ExecSample {
  Summary latency;  // of the successful ones
  size_t sampled = 0, failed = 0;
  std::string first_failure;
};

// /bin/true in a random 1 % (at least one) of the live sandboxes, in turn.
ExecSample exec_sample(client::Client& c, const std::vector<std::string>& ids) {
  ExecSample s;
  std::vector<std::string> picked;
  std::mt19937 rng(std::random_device{}());
  std::sample(ids.begin(), ids.end(), std::back_inserter(picked), std::max<size_t>(1, (ids.size() + 50) / 100), rng);
  std::vector<double> t;
  for (const auto& id : picked) {
    const double t0 = now_us();
    auto r = c.run(id, true_spec());
    const double took = now_us() - t0;
    ++s.sampled;
    if (r && r->exit_code == 0) {
      t.push_back(took);
      continue;
    }
    ++s.failed;
    if (s.first_failure.empty())
      s.first_failure = id + ": " + (r ? "exit code " + std::to_string(r->exit_code) : r.error().message);
  }
  s.latency = summarize(t);
  return s;
}

// What the sandboxes hold, seen before the kill to be looked for after it.
struct Recorded {
  std::set<std::string> ids;
  std::vector<ProcessIdentity> processes;  // every process in their groups
  std::set<std::string> mount_namespaces;  // their own mounts are there
};

Recorded record(const std::string& parent, const std::vector<std::string>& ids) {
  Recorded r;
  r.ids.insert(ids.begin(), ids.end());
  for (const auto& id : ids)
    for (pid_t pid : sandbox_pids(parent, id))
      if (auto p = identify(pid)) {
        r.processes.push_back(*p);
        if (auto ns = mount_namespace(pid); !ns.empty()) r.mount_namespaces.insert(ns);
      }
  return r;
}

struct KillAll {
  double seconds = 0;
  size_t failed = 0;
  std::string first_failure;
};

KillAll kill_all(const Config& cfg, client::Client& c, const std::vector<std::string>& ids) {
  KillAll k;
  std::mutex mu;
  std::atomic<bool> never{false};
  const double t0 = now_us();
  parallel_for(cfg.concurrency, ids.size(), never, [&](size_t i) {
    auto r = c.kill(ids[i]);
    if (r) return;
    std::lock_guard<std::mutex> lock(mu);
    if (!k.failed++) k.first_failure = ids[i] + ": " + r.error().message;
  });
  k.seconds = (now_us() - t0) / 1e6;
  return k;
}

// --- what is left ---------------------------------------------------------------------

struct Leftovers {
  size_t cgroups = 0, scratch = 0, mounts = 0, processes = 0, id_slots = 0;
  size_t total() const { return cgroups + scratch + mounts + processes + id_slots; }
};

size_t count_in(const std::set<std::string>& found, const std::set<std::string>& ids) {
  return size_t(std::count_if(found.begin(), found.end(), [&](const auto& x) { return ids.count(x) > 0; }));
}

size_t still_running(const std::vector<ProcessIdentity>& processes) {
  return size_t(std::count_if(processes.begin(), processes.end(), [](const auto& p) { return still_running(p); }));
}

// Mounts of the sandboxes: in the host's, soulboxd's and the launcher's
// tables, or in a mount namespace of theirs that something keeps alive.
size_t mounts_of(const Recorded& r, const std::string& data_dir, const std::vector<std::string>& mountinfo_files,
                 const std::vector<pid_t>& fd_holders) {
  return count_in(mounted_sandboxes(data_dir, mountinfo_files), r.ids) +
         count_in(live_mount_namespaces(fd_holders, mountinfo_files), r.mount_namespaces);
}

// With soulboxd running: traces of the killed sandboxes. Id-slot files are
// numbered, not named by sandbox: those beyond one per live sandbox (the
// warm pool's groups) are left over.
Leftovers left_by_killed(const Config& cfg, const Node& n, const Recorded& r) {
  Leftovers l;
  const auto groups = cgroups_under(cfg.cgroup_parent);
  l.cgroups = count_in(groups, r.ids);
  l.scratch = count_in(scratch_dirs(n.data_dir), r.ids);
  l.mounts = mounts_of(r, n.data_dir, n.mountinfo_files(), {n.daemon.pid, n.launcher});
  l.processes = still_running(r.processes);
  const size_t live = groups.size() - l.cgroups;
  const size_t slots = id_slot_files(n.run_dir).files;
  l.id_slots = slots > live ? slots - live : 0;
  return l;
}

// Polls until the killed sandboxes left nothing, or kLeftoverWaitS passed;
// `waited_s` says how long it took.
Leftovers wait_for_leftovers(const Config& cfg, const Node& n, const Recorded& r, double* waited_s) {
  const double t0 = now_us();
  Leftovers l;
  for (;;) {
    l = left_by_killed(cfg, n, r);
    *waited_s = (now_us() - t0) / 1e6;
    if (l.total() == 0 || *waited_s > kLeftoverWaitS) return l;
    sleep_s(0.1);
  }
}

// After soulboxd stopped (it ends every sandbox, the warm pool's too):
// anything at all under the cgroup parent, the data and run dirs.
Leftovers left_after_stop(const Config& cfg, const Node& n, const Recorded& r) {
  Leftovers l;
  const std::vector<std::string> tables = {"/proc/1/mountinfo", "/proc/self/mountinfo"};
  l.cgroups = cgroups_under(cfg.cgroup_parent).size();
  l.scratch = scratch_dirs(n.data_dir).size();
  l.mounts = mounts_below(cfg.root, tables) + mounts_of(r, n.data_dir, tables, {});
  l.processes = still_running(r.processes);
  l.id_slots = id_slot_files(n.run_dir).files;
  return l;
}

// --- the report -------------------------------------------------------------------------

struct Figures {
  Floors floors;
  Fill fill;
  uint64_t mem_before_kib = 0, mem_after_kib = 0;
  uint64_t node_measured_bytes = 0;  // the node's reading of its sandboxes' memory
  NodeProcesses before, full;
  ExecSample sample;
  size_t processes_recorded = 0;
  KillAll kill;
  Leftovers before_kill;  // the same look before the kill: it finds every sandbox
  Leftovers after_kill, after_stop;
  double leftover_wait_s = 0;
  int daemon_exit = 0;  // soulboxd's exit status after SIGTERM (-1: it had to be killed)
};

void row(const std::string& what, const std::string& measured, const std::string& peer = "",
         const std::string& ratio = "") {
  std::cout << "| " << what << " | " << measured << " | " << peer << " | " << ratio << " |\n";
}

std::string ratio(double a, double b) {
  return b > 0 ? fmt(a / b, 2) + "x" : "";
}

std::string us(double v) {
  return fmt(v) + " µs";
}

void report_process(const std::string& name, const ProcStatus& full, const ProcStatus& before, size_t n) {
  const double per = (double(full.rss_kib) - double(before.rss_kib)) / double(std::max<size_t>(1, n));
  row(name + " RSS at full density", fmt(mib(full.rss_kib), 1) + " MiB",
      "before the creates: " + fmt(mib(before.rss_kib), 1) + " MiB", "+" + fmt(per, 2) + " KiB per sandbox");
  row(name + " threads at full density", std::to_string(full.threads),
      "before the creates: " + std::to_string(before.threads));
}

void report_figures(const Config& cfg, const Figures& f) {
  const size_t n = f.fill.ids.size();
  const double drop_mib = mib(double(f.mem_before_kib) - double(f.mem_after_kib));
  const double per_sandbox = n ? drop_mib / double(n) : 0;
  std::cout << "\n| what | measured | peer / target (same run) | ratio |\n|---|---:|---:|---:|\n";
  row("created", std::to_string(n) + " of " + std::to_string(cfg.count),
      std::to_string(f.fill.refused) + " refused, " + std::to_string(f.fill.errors) + " errors" +
          (f.fill.gave_up ? ", gave up after " + std::to_string(kGiveUpAfter) + " in a row" : ""));
  row("create rate, placed through the bus, " + std::to_string(cfg.concurrency) + " in flight",
      fmt(double(n) / f.fill.seconds, 1) + " /s", fmt(f.fill.seconds, 1) + " s in all");
  row("node memory per sandbox, all-in (MemAvailable " + fmt(mib(double(f.mem_before_kib)), 0) + " -> " +
          fmt(mib(double(f.mem_after_kib)), 0) + " MiB: " + fmt(drop_mib, 1) + " MiB / " + std::to_string(n) + ")",
      "**" + fmt(per_sandbox, 3) + " MiB**", "target " + fmt(kTargetMiB, 0) + " MiB", ratio(per_sandbox, kTargetMiB));
  row("the sandboxes' memory as the node reads it (parent cgroup), per sandbox",
      fmt(n ? double(f.node_measured_bytes) / 1048576.0 / double(n) : 0, 3) + " MiB");
  const std::string sampled = std::to_string(f.sample.latency.n) + " of " + std::to_string(n);
  row("exec /bin/true p50, random 1 % (" + sampled + ")", us(f.sample.latency.p50),
      "posix_spawn p50 " + us(f.floors.spawn.p50), ratio(f.sample.latency.p50, f.floors.spawn.p50));
  row("exec /bin/true p50, random 1 %", us(f.sample.latency.p50), "empty node p50 " + us(f.floors.empty_exec.p50),
      ratio(f.sample.latency.p50, f.floors.empty_exec.p50));
  row("exec /bin/true p99, random 1 %", us(f.sample.latency.p99), "empty node p99 " + us(f.floors.empty_exec.p99),
      ratio(f.sample.latency.p99, f.floors.empty_exec.p99));
  report_process("soulboxd", f.full.daemon, f.before.daemon, n);
  report_process("launcher", f.full.launcher, f.before.launcher, n);
  report_process("nats-server", f.full.nats, f.before.nats, n);
  row("kill all " + std::to_string(n) + ", " + std::to_string(cfg.concurrency) + " in flight",
      fmt(f.kill.seconds, 2) + " s", fmt(f.kill.seconds > 0 ? double(n) / f.kill.seconds : 0, 1) + " /s",
      std::to_string(f.kill.failed) + " failed");
}

void leftover_row(const std::string& when, const Leftovers& l) {
  std::cout << "| " << when << " | " << l.cgroups << " | " << l.scratch << " | " << l.mounts << " | " << l.processes
            << " | " << l.id_slots << " |\n";
}

void report_leftovers(const Config& cfg, const Figures& f) {
  std::cout << "\n| left over | cgroups | scratch dirs | mounts | processes | id-slot leases |\n"
               "|---|---:|---:|---:|---:|---:|\n";
  leftover_row("(the same look before the kill, " + std::to_string(f.fill.ids.size()) + " live)", f.before_kill);
  leftover_row("killed sandboxes, soulboxd running (after " + fmt(f.leftover_wait_s, 1) + " s)", f.after_kill);
  leftover_row("anything, after soulboxd stopped", f.after_stop);
  std::cout << "\ncgroups under `" << cfg.cgroup_parent << "`; " << f.processes_recorded
            << " sandbox processes recorded from cgroup.procs before the kill, and their mount namespaces; mounts: "
               "those naming a scratch dir in the mount tables of init, soulboxd and its launcher (after the stop: "
               "init's and ours, anything below the root), plus the sandboxes' mount namespaces still alive (a "
               "process in one, a descriptor of soulboxd or the launcher on one, or a bind mount of one); "
               "id-slot lease files beyond one per live warm-pool sandbox.\n";
}

// Why the run failed; empty when it did not.
std::vector<std::string> failures(const Figures& f) {
  std::vector<std::string> out;
  if (f.fill.ids.empty()) out.push_back("no sandbox was created");
  if (f.fill.errors) out.push_back(std::to_string(f.fill.errors) + " create(s) failed; first: " + f.fill.first_error);
  if (f.sample.failed)
    out.push_back(std::to_string(f.sample.failed) + " exec(s) failed; first: " + f.sample.first_failure);
  if (f.kill.failed) out.push_back(std::to_string(f.kill.failed) + " kill(s) failed; first: " + f.kill.first_failure);
  if (f.after_kill.total() || f.after_stop.total()) out.push_back("sandboxes left something behind");
  if (f.daemon_exit != 0) out.push_back("soulboxd exited " + std::to_string(f.daemon_exit) + " after SIGTERM");
  return out;
}

void print_header(const Config& cfg) {
  const std::string limit = cfg.open_files ? std::to_string(cfg.open_files) : open_file_limits();
  std::cout << "## Density through the bus: " << cfg.count
            << " idle sandboxes on one node\n\nhost: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, MemTotal "
            << fmt(mib(meminfo_kib("MemTotal")), 0) << " MiB, load average " << load_average() << "; cgroup parent "
            << cfg.cgroup_parent << "; soulboxd's RLIMIT_NOFILE " << limit << "\n";
}

void check_clean_start(const Config& cfg) {
  if (mounts_below(cfg.root, {"/proc/1/mountinfo", "/proc/self/mountinfo"}))
    fail("mounts below " + cfg.root + " remain from an earlier run; not emptying it");
  if (!cgroups_under(cfg.cgroup_parent).empty())
    fail("cgroups under " + cfg.cgroup_parent + " exist already (another run?); pick another --cgroup-parent");
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse(argc, argv);
  check_clean_start(cfg);
  fresh_root(cfg.root);
  print_header(cfg);
  Node node = start_node(cfg);
  std::cout << "soulboxd: " << (node.density.empty() ? "(no density line)" : node.density) << "\n";
  const std::string& id = node.daemon.address.node;
  Figures f;
  wait_warm(*node.client, id);
  f.floors = measure_floors(cfg, node);
  sleep_s(kSettleS);
  wait_warm(*node.client, id);
  f.before = node.processes();
  f.mem_before_kib = meminfo_kib("MemAvailable");
  f.fill = create_all(cfg, *node.client);
  sleep_s(kSettleS);
  wait_warm(*node.client, id);
  f.mem_after_kib = meminfo_kib("MemAvailable");
  f.full = node.processes();
  if (auto h = node.client->health(id)) f.node_measured_bytes = h->memory_in_use_bytes;
  f.sample = exec_sample(*node.client, f.fill.ids);
  const Recorded recorded = record(cfg.cgroup_parent, f.fill.ids);
  f.processes_recorded = recorded.processes.size();
  f.before_kill = left_by_killed(cfg, node, recorded);
  f.kill = kill_all(cfg, *node.client, f.fill.ids);
  f.after_kill = wait_for_leftovers(cfg, node, recorded, &f.leftover_wait_s);
  node.client.reset();
  f.daemon_exit = client::stop_local_daemon(node.daemon.pid, 120000);
  f.after_stop = left_after_stop(cfg, node, recorded);
  remove_cgroup_parent(cfg.cgroup_parent);

  report_figures(cfg, f);
  report_leftovers(cfg, f);
  if (!f.fill.first_refusal.empty()) std::cout << "\nfirst refusal: " << f.fill.first_refusal << "\n";
  const auto failed = failures(f);
  for (const auto& why : failed) std::cout << "\nFAILED: " << why << "\n";
  if (failed.empty() && f.after_stop.mounts == 0) {
    std::error_code ec;
    fs::remove_all(cfg.root, ec);
  } else {
    std::cout << "(kept " << cfg.root << " for a look: soulboxd's output is daemon/soulboxd.out)\n";
  }
  return failed.empty() ? 0 : 1;
}
