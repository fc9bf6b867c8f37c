// The code interpreter's cost, each figure beside a peer measured in the
// same run:
//   1. agent level (in-process runtime, no daemon): `print(1)` in a warm
//      Python context, send -> CodeEnd, vs a cold `python3 -c 'print(1)'`
//      started by the agent in the same sandbox, vs plain posix_spawn of it
//      on the host; also with the benchmark and sandbox pinned to one CPU
//   2. through soulboxd and the gateway: POST /execute `print(1)` in the
//      warm default context of a code-interpreter-v1 sandbox, vs the same
//      cell over the bus, vs a cold `python3 -c` over the bus
//   3. a matplotlib plot end to end over HTTP: warm (preloaded) context vs a
//      fresh base sandbox whose first cell starts the kernel and imports
// Usage: code_bench [--rounds N] [--root DIR] [--part agent|http]
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/client/agent_client.h"
#include "bench/bench_env.h"
#include "bench/bench_http.h"
#include "bench/peers.h"
#include "bench/stats.h"
#include "client/local_daemon.h"
#include "isolation/runtime.h"

using namespace soulbox;
using namespace soulbox::bench;
namespace ap = agentproto;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

struct Config {
  int rounds = 1000;
  std::string part;  // "agent" or "http": only that part
  std::string root = "/var/lib/soulbox-bench-code";
};

const char* kPlot =
    "import numpy as np\nimport matplotlib.pyplot as plt\nx = np.linspace(0, 2 * np.pi, 100)\n"
    "plt.plot(x, np.sin(x))\nplt.title('Sine wave')\nplt.show()";

// --- 1. agent level -----------------------------------------------------------

std::string python_context(AgentClient& agent) {
  flatbuffers::FlatBufferBuilder fbb;
  const uint64_t id = agent.next_id();
  auto create = ap::CreateCtxCreate(fbb, fbb.CreateString("python"));
  ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, id, ap::Body::CtxCreate, create.Union()));
  if (!agent.send(fbb)) die("CtxCreate", "send failed");
  auto reply = must(agent.wait_for(id, 10000), "CtxCreate");
  const auto* info = reply.frame().body_as_CtxInfo();
  if (!info) die("CtxCreate", "no CtxInfo");
  return info->context_id()->str();
}

// Sends one cell and waits for its CodeEnd; the stdout it printed.
std::string run_cell(AgentClient& agent, const std::string& context, const std::string& code) {
  flatbuffers::FlatBufferBuilder fbb;
  const uint64_t id = agent.next_id();
  auto run = ap::CreateCodeRun(fbb, fbb.CreateString(code), fbb.CreateString(context));
  ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, id, ap::Body::CodeRun, run.Union()));
  if (!agent.send(fbb)) die("CodeRun", "send failed");
  std::string out;
  for (;;) {
    auto frame = must(agent.wait_for(id, 30000), "CodeRun");
    if (const auto* e = frame.frame().body_as_CodeEvent(); e && e->kind() == ap::CodeEventKind::Stdout && e->data())
      out.append(reinterpret_cast<const char*>(e->data()->data()), e->data()->size());
    if (frame.type() == ap::Body::CodeEnd) return out;
    if (frame.type() == ap::Body::ErrorReply) die("CodeRun", "refused");
  }
}

Summary warm_prints(AgentClient& agent, const std::string& context, int rounds) {
  // The first cell waits for the kernel to start; then a few to warm caches.
  for (int i = 0; i < 20; ++i)
    if (run_cell(agent, context, "print(1)") != "1\n") die("print(1)", "wrong output");
  std::vector<double> samples;
  for (int i = 0; i < rounds; ++i) {
    const double t0 = now_us();
    run_cell(agent, context, "print(1)");
    samples.push_back(now_us() - t0);
  }
  return summarize(samples);
}

void bench_agent_level(const Config& c) {
  isolation::RuntimeOptions o;
  o.data_dir = c.root + "/runtime";
  o.cgroup_parent = "soulbox-bench";
  auto rt = must(isolation::Runtime::open(o), "Runtime::open");
  auto sandbox_with_context = [&](std::unique_ptr<isolation::Sandbox>& sb) {
    isolation::SandboxSpec spec;
    spec.limits.memory_bytes = 1ull << 30;
    sb = must(rt->create(spec), "create");
    auto agent = std::make_unique<AgentClient>(sb->channel_fd());
    must(agent->handshake(), "handshake");
    return agent;
  };

  std::unique_ptr<isolation::Sandbox> sb;
  auto agent = sandbox_with_context(sb);
  const std::string ctx = python_context(*agent);
  const Summary warm = warm_prints(*agent, ctx, c.rounds);
  std::vector<double> cold, host;
  ProcessSpec python;
  python.argv = {"python3", "-c", "print(1)"};
  for (int i = 0; i < std::max(20, c.rounds / 20); ++i) {
    double t0 = now_us();
    auto r = must(agent->run(python, 30000), "python3 -c");
    if (r.out != "1\n") die("python3 -c", "wrong output");
    cold.push_back(now_us() - t0);
    t0 = now_us();
    spawn_wait({"/usr/bin/python3", "-c", "print(1, file=open('/dev/null', 'w'))"});
    host.push_back(now_us() - t0);
  }
  (void)sb->destroy();

  // Pinned: the sandbox (and its agent and kernel) inherit the affinity, so
  // wake-ups stay on one CPU (docs/stack-notes.md S11).
  cpu_set_t all, one;
  ::sched_getaffinity(0, sizeof all, &all);
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  ::sched_setaffinity(0, sizeof one, &one);
  std::unique_ptr<isolation::Sandbox> pinned_sb;
  auto pinned_agent = sandbox_with_context(pinned_sb);
  pinned_agent->set_spin_us(0);  // spinning on the only CPU would starve the agent
  const Summary pinned = warm_prints(*pinned_agent, python_context(*pinned_agent), c.rounds);
  (void)pinned_sb->destroy();
  ::sched_setaffinity(0, sizeof all, &all);

  const Summary cs = summarize(cold), hs = summarize(host);
  table_header("1. `print(1)` at the agent: send → end event (µs)");
  table_row("plain posix_spawn `python3 -c 'print(1)'` on the host (to /dev/null)", hs, hs.p50);
  table_row("agent: cold `python3 -c 'print(1)'` in the sandbox", cs, hs.p50);
  table_row("**agent: `print(1)` in a warm Python context**", warm, hs.p50);
  table_row("**the same, benchmark and sandbox pinned to CPU 0**", pinned, hs.p50);
  std::cout << "\nWarm context vs cold `python3 -c` in the sandbox: **" << fmt(cs.p50 / warm.p50, 0)
            << "x** faster (p50, unpinned)\n";
}

// --- 2 and 3. through the daemon and the gateway -------------------------------

struct HttpSandbox {
  std::string id, token;
};

HttpSandbox http_create(HttpConnection& conn, const HttpConnection::Headers& auth, const std::string& tmpl) {
  auto res = conn.call(http::verb::post, "/v2/sandboxes", auth, json{{"templateID", tmpl}}.dump());
  if (res.result_int() != 201) die("create " + tmpl, res.body());
  const json j = json::parse(res.body());
  return {j["sandboxID"], j["envdAccessToken"]};
}

HttpConnection::Headers code_headers(const HttpSandbox& s) {
  return {{"E2b-Sandbox-Id", s.id},
          {"E2b-Sandbox-Port", "49999"},
          {"X-Access-Token", s.token},
          {"Content-Type", "application/json"}};
}

// POST /execute; dies unless the cell ended without an error.
void http_execute(HttpConnection& conn, const HttpSandbox& s, const std::string& code) {
  auto res = conn.call(http::verb::post, "/execute", code_headers(s), json{{"code", code}}.dump());
  if (res.result_int() != 200 || res.body().find("end_of_execution") == std::string::npos ||
      res.body().find(R"("type":"error")") != std::string::npos)
    die("/execute", res.body());
}

void wait_python_ready(HttpConnection& conn, const HttpSandbox& s) {
  for (int i = 0; i < 600; ++i) {
    auto res = conn.call(http::verb::get, "/contexts", code_headers(s));
    const json list = json::parse(res.body(), nullptr, false);
    if (list.is_array())
      for (const auto& ctx : list)
        if (ctx.value("language", "") == "python" && ctx.value("ready", false)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  die("code-interpreter-v1", "its python context never became ready");
}

void bench_through_gateway(const Config& c) {
  const std::string build = build_dir();
  fs::create_directories(c.root + "/daemon");
  client::LocalDaemonOptions o;
  o.binary = build + "/soulboxd";
  o.root = c.root + "/daemon";
  o.args = {"--cgroup-parent", "soulbox-bench", "--pool-min", "1", "--node-id", "bench", "--jobs-workers", "0"};
  auto daemon = must(client::start_local_daemon(o), "start soulboxd");
  auto admin = must(client::Client::connect(daemon.address.connect), "connect");
  const std::string key = api_key(*admin);
  const pid_t gateway = start_gateway(build, o.root + "/data", c.root + "/gateway.json");
  HttpConnection conn(wait_port(c.root + "/gateway.json"));
  const HttpConnection::Headers auth{{"X-API-Key", key}, {"Content-Type", "application/json"}};
  const std::string key_id = key.substr(3, key.find('_', 3) - 3);
  auto bus = admin->as("bench", "key:" + key_id);

  const HttpSandbox warm = http_create(conn, auth, "code-interpreter-v1");
  wait_python_ready(conn, warm);
  for (int i = 0; i < 20; ++i) http_execute(conn, warm, "print(1)");
  const int rounds = std::max(50, c.rounds / 3);
  std::vector<double> over_http, over_bus, cold;
  client::CodeRunSpec cell;
  cell.code = "print(1)";
  ProcessSpec python;
  python.argv = {"python3", "-c", "print(1)"};
  for (int i = 0; i < rounds; ++i) {
    double t0 = now_us();
    http_execute(conn, warm, "print(1)");
    over_http.push_back(now_us() - t0);
    t0 = now_us();
    auto r = must(bus->run_code(warm.id, cell, 30000), "bus run_code");
    if (r.out != "1\n") die("bus run_code", "wrong output");
    over_bus.push_back(now_us() - t0);
    if (i % 10 == 0) {
      t0 = now_us();
      must(bus->run(warm.id, python, 30000), "bus python3 -c");
      cold.push_back(now_us() - t0);
    }
  }
  const Summary hs = summarize(over_http), bs = summarize(over_bus), cs = summarize(cold);
  table_header("2. `print(1)` through soulboxd (µs)");
  table_row("bus: cold `python3 -c 'print(1)'` in the sandbox (Client::run)", cs, cs.p50);
  table_row("bus: `print(1)` in the warm context (Client::run_code)", bs, cs.p50);
  table_row("**HTTP: POST /execute `print(1)`, warm context (one keep-alive connection)**", hs, cs.p50);

  std::vector<double> plot_warm, plot_cold;
  for (int i = 0; i < 10; ++i) {
    const double t0 = now_us();
    http_execute(conn, warm, kPlot);
    plot_warm.push_back(now_us() - t0);
  }
  for (int i = 0; i < 3; ++i) {
    const double t0 = now_us();
    const HttpSandbox fresh = http_create(conn, auth, "base");
    http_execute(conn, fresh, kPlot);  // starts the kernel, imports numpy and matplotlib, plots
    plot_cold.push_back(now_us() - t0);
    conn.call(http::verb::delete_, "/sandboxes/" + fresh.id, auth);
  }
  const Summary pw = summarize(plot_warm), pc = summarize(plot_cold);
  table_header("3. A matplotlib sine-wave plot end to end over HTTP, PNG+SVG+chart back (µs)");
  table_row("create a base sandbox + its first cell plots (kernel start, imports)", pc, pc.p50);
  table_row("**warm code-interpreter-v1 context (numpy and matplotlib preloaded)**", pw, pc.p50);

  conn.call(http::verb::delete_, "/sandboxes/" + warm.id, auth);
  ::kill(gateway, SIGTERM);
  ::waitpid(gateway, nullptr, 0);
  client::stop_local_daemon(daemon.pid);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) c.rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--root")) c.root = argv[i + 1];
    if (!std::strcmp(argv[i], "--part")) c.part = argv[i + 1];
  }
  fresh_root(c.root);
  std::cout << "## code interpreter benchmark\n\nhost: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores; rounds "
            << c.rounds << "\n";
  if (c.part != "http") bench_agent_level(c);  // before any thread: the runtime forks
  if (c.part != "agent") bench_through_gateway(c);
  return 0;
}
