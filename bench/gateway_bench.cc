// The gateway's cost: the same operations through E2B's HTTP API and
// through the C++ bus client, in the same run, against one soulboxd:
//   1. create (warm pool, placed) and kill
//   2. exec of /bin/echo: Connect stream over HTTP vs Client::run
//   3. a unary call (sandbox info): latency and requests/s, one keep-alive
//      connection, and 4 connections at once
// Usage: gateway_bench [--rounds N] [--seconds S] [--root DIR]
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/bench_env.h"
#include "bench/bench_http.h"
#include "bench/stats.h"
#include "bus/subjects.h"
#include "client/client.h"
#include "client/local_daemon.h"

using namespace soulbox;
using namespace soulbox::bench;
namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

namespace {

struct Config {
  int rounds = 200;
  double seconds = 3;
  std::string root = "/var/lib/soulbox-bench-gateway";
};

std::string connect_envelope(const std::string& text) {
  std::string out(5, '\0');
  out[3] = char((text.size() >> 8) & 0xff);
  out[4] = char(text.size() & 0xff);
  return out + text;
}

// Calls `one` from `threads` threads for `seconds`: completed calls per second.
double throughput(int threads, double seconds, const std::function<std::function<void()>()>& make_caller) {
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      auto call = make_caller();
      while (!stop) {
        call();
        ++done;
      }
    });
  const double t0 = now_us();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  return double(done) / ((now_us() - t0) / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) c.rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) c.seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--root")) c.root = argv[i + 1];
  }
  fresh_root(c.root);
  fs::create_directories(c.root + "/daemon");
  const std::string build = build_dir();

  client::LocalDaemonOptions o;
  o.binary = build + "/soulboxd";
  o.root = c.root + "/daemon";
  o.args = {"--cgroup-parent", "soulbox-bench", "--pool-min",     "4", "--pool-max", "8",
            "--node-id",       "bench",         "--jobs-workers", "0"};
  auto daemon = must(client::start_local_daemon(o), "start soulboxd");
  auto admin = must(client::Client::connect(daemon.address.connect), "connect");
  const std::string key = api_key(*admin);
  const pid_t gateway = start_gateway(build, o.root + "/data", c.root + "/gateway.json");
  const uint16_t port = wait_port(c.root + "/gateway.json");
  // The bus peer acts as the same tenant and key the HTTP calls use.
  const std::string key_id = key.substr(3, key.find('_', 3) - 3);
  auto bus = admin->as("bench", "key:" + key_id);
  HttpConnection conn(port);
  const std::vector<std::pair<std::string, std::string>> auth{{"X-API-Key", key}, {"Content-Type", "application/json"}};

  std::cout << "## gateway benchmark\n\nhost: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores; rounds " << c.rounds
            << ", throughput windows " << c.seconds << " s; soulboxd with a warm pool of 4, one gateway\n";

  table_header("1. Create (warm pool, placed) (µs)");
  std::vector<double> bus_create, http_create;
  for (int i = 0; i < c.rounds; ++i) {
    double t0 = now_us();
    auto made = must(bus->create({}), "bus create");
    bus_create.push_back(now_us() - t0);
    must(bus->kill(made.id), "bus kill");
    t0 = now_us();
    auto res = conn.call(http::verb::post, "/v2/sandboxes", auth, R"({"templateID":"base"})");
    http_create.push_back(now_us() - t0);
    if (res.result_int() != 201) die("http create", res.body());
    conn.call(http::verb::delete_, "/sandboxes/" + json::parse(res.body())["sandboxID"].get<std::string>(), auth);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the pool refill, for both alike
  }
  const Summary bc = summarize(bus_create), hc = summarize(http_create);
  table_row("bus: Client::create", bc, bc.p50);
  table_row("HTTP: POST /v2/sandboxes", hc, bc.p50);

  auto made = conn.call(http::verb::post, "/v2/sandboxes", auth, R"({"templateID":"base","timeout":600})");
  const json created = json::parse(made.body());
  const std::string id = created["sandboxID"];
  const std::vector<std::pair<std::string, std::string>> envd{
      {"E2b-Sandbox-Id", id},
      {"E2b-Sandbox-Port", "49983"},
      {"X-Access-Token", created["envdAccessToken"].get<std::string>()},
      {"Content-Type", "application/connect+json"}};

  table_header("2. Exec of /bin/echo x, to its end (µs)");
  ProcessSpec spec;
  spec.argv = {"/bin/echo", "x"};
  const std::string start = connect_envelope(R"({"process":{"cmd":"/bin/echo","args":["x"]}})");
  std::vector<double> bus_exec, http_exec;
  for (int i = 0; i < c.rounds; ++i) {
    double t0 = now_us();
    auto r = must(bus->run(id, spec), "bus run");
    bus_exec.push_back(now_us() - t0);
    t0 = now_us();
    auto res = conn.call(http::verb::post, "/process.Process/Start", envd, start);
    http_exec.push_back(now_us() - t0);
    if (res.body().find("\"end\"") == std::string::npos) die("http exec", res.body());
  }
  const Summary be = summarize(bus_exec), he = summarize(http_exec);
  table_row("bus: Client::run", be, be.p50);
  table_row("HTTP: process.Process/Start (Connect stream)", he, be.p50);

  table_header("3. Unary call: sandbox info (µs)");
  std::vector<double> bus_info, http_info;
  for (int i = 0; i < c.rounds; ++i) {
    double t0 = now_us();
    must(bus->info(id), "bus info");
    bus_info.push_back(now_us() - t0);
    t0 = now_us();
    auto res = conn.call(http::verb::get, "/sandboxes/" + id, auth);
    http_info.push_back(now_us() - t0);
    if (res.result_int() != 200) die("http info", res.body());
  }
  const Summary bi = summarize(bus_info), hi = summarize(http_info);
  table_row("bus: Client::info", bi, bi.p50);
  table_row("HTTP: GET /sandboxes/{id}", hi, bi.p50);

  std::cout << "\n| requests/s (" << c.seconds << " s each) | 1 caller | 4 callers |\n|---|---:|---:|\n";
  auto bus_caller = [&] { return std::function<void()>([&] { must(bus->info(id), "bus info"); }); };
  auto http_caller = [&] {
    auto mine = std::make_shared<HttpConnection>(port);
    return std::function<void()>([mine, &auth, &id] { mine->call(http::verb::get, "/sandboxes/" + id, auth); });
  };
  const double b1 = throughput(1, c.seconds, bus_caller), b4 = throughput(4, c.seconds, bus_caller);
  const double h1 = throughput(1, c.seconds, http_caller), h4 = throughput(4, c.seconds, http_caller);
  std::cout << "| bus: Client::info | " << fmt(b1) << " | " << fmt(b4) << " |\n"
            << "| HTTP: GET /sandboxes/{id} | " << fmt(h1) << " (" << fmt(h1 / b1, 2) << "x bus) | " << fmt(h4) << " ("
            << fmt(h4 / b4, 2) << "x bus) |\n";

  conn.call(http::verb::delete_, "/sandboxes/" + id, auth);
  ::kill(gateway, SIGTERM);
  ::waitpid(gateway, nullptr, 0);
  client::stop_local_daemon(daemon.pid);
  return 0;
}
