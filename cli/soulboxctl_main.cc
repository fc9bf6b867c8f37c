// soulboxctl: talks to soulboxd nodes over NATS with the C++ client, for
// operators and for trying SoulBox before the HTTP gateway. By default it
// reads the connection details a local soulboxd wrote to its data dir.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/command_line.h"
#include "client/client.h"

namespace {

using namespace soulbox;
namespace bp = busproto;

int fail(const std::string& what, const Error& e) {
  std::cerr << "soulboxctl: " << what << ": " << e.message << " (" << to_string(e.code) << ")\n";
  return 1;
}

std::string fmt_cpus(float n) {
  std::ostringstream out;
  out << n;
  return out.str();
}

void print_info(const client::SandboxInfo& i) {
  std::cout << i.id << "  " << bp::EnumNameSandboxState(i.state) << "  node " << i.node << "  template "
            << i.template_name << "  memory " << (i.memory_bytes >> 20) << " MiB  cpus " << i.cpus;
  if (i.state == bp::SandboxState::Terminated) std::cout << "  ended: " << i.end_reason;
  std::cout << "\n";
}

// Runs argv, streaming output to this terminal; returns its exit status.
int run_streaming(client::Client& c, const std::string& id, const std::vector<std::string>& argv, int timeout_s) {
  ProcessSpec spec;
  spec.argv = argv;
  auto r = c.run(id, spec, timeout_s * 1000, [](agentproto::Stream s, const std::string& data) {
    std::fwrite(data.data(), 1, data.size(), s == agentproto::Stream::Stderr ? stderr : stdout);
    std::fflush(s == agentproto::Stream::Stderr ? stderr : stdout);
  });
  if (!r) return fail("exec", r.error());
  return r->signal ? 128 + r->signal : r->exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"soulboxctl: manage soulboxd nodes and sandboxes over NATS"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("soulboxctl ") + SOULBOX_VERSION);
  std::string ready_file = "/var/lib/soulbox/soulboxd.json", url, user, password, node;
  app.add_option("--ready-file", ready_file, "Connection details written by soulboxd")->capture_default_str();
  app.add_option("--nats", url, "NATS URL (instead of the ready file)");
  app.add_option("--nats-user", user);
  app.add_option("--nats-password", password)->envname("SOULBOX_NATS_PASSWORD");
  app.add_option("--node", node, "Node to talk to (default: the ready file's)");
  std::string id, path, template_name = "base";
  std::vector<std::string> command;
  uint64_t memory_mib = 0;
  double timeout_s = 0;
  int exec_timeout_s = 60;
  auto* health = app.add_subcommand("health", "The node's status and capacity");
  auto* pool = app.add_subcommand("pool", "Warm pool statistics");
  auto* list = app.add_subcommand("list", "Sandboxes of the node");
  auto* create = app.add_subcommand("create", "Create a sandbox and print its id");
  create->add_option("--template", template_name)->capture_default_str();
  create->add_option("--memory", memory_mib, "MiB");
  create->add_option("--timeout", timeout_s, "Lifetime in seconds");
  auto* exec = app.add_subcommand("exec", "Run a command in a sandbox");
  exec->add_option("id", id)->required();
  exec->add_option("command", command)->required();
  exec->add_option("--timeout", exec_timeout_s)->capture_default_str();
  exec->prefix_command();
  auto* run = app.add_subcommand("run", "Create a sandbox, run a command, kill it");
  run->add_option("command", command)->required();
  run->prefix_command();
  auto* kill = app.add_subcommand("kill", "Kill a sandbox");
  kill->add_option("id", id)->required();
  auto* info = app.add_subcommand("info", "A sandbox's state");
  info->add_option("id", id)->required();
  if (auto done = cli::parse_command_line(app, argc, argv, "soulboxctl")) return *done;

  bus::ConnectOptions connect{url, user, password, "soulboxctl"};
  if (url.empty()) {
    auto a = client::read_ready_file(ready_file);
    if (!a) return fail("connection details", a.error());
    connect = a->connect;
    if (node.empty()) node = a->node;
  }
  auto c = client::Client::connect(connect);
  if (!c) return fail("connect", c.error());
  client::Client& cl = **c;

  if (*health) {
    auto h = cl.health(node);
    if (!h) return fail("health", h.error());
    std::cout << h->node << ": " << h->status << ", version " << h->version << ", " << h->sandboxes
              << " sandboxes using " << (h->memory_in_use_bytes >> 20) << " MiB, memory free "
              << (h->memory_free_bytes >> 20) << "/" << (h->memory_capacity_bytes >> 20) << " MiB, "
              << (h->cpus_reserved ? "cpus free " + fmt_cpus(h->cpu_free) + "/" + fmt_cpus(h->cpu_capacity)
                                   : fmt_cpus(h->cpu_capacity) + " cores shared")
              << ", region " << h->region << "\n";
    if (h->bad_messages || h->unreadable_events)
      std::cout << "  refused " << h->bad_messages << " malformed bus messages, skipped " << h->unreadable_events
                << " unreadable stream events (see the log for their sequences)\n";
  } else if (*pool) {
    auto s = cl.pool_stats(node);
    if (!s) return fail("pool", s.error());
    for (const auto& t : *s)
      std::cout << t.template_name << ": " << t.warm << " warm (min " << t.min_warm << ", max " << t.max_size << ", "
                << t.strategy << "), " << t.hits << " hits, " << t.misses << " misses, acquire p50 " << t.acquire_p50_us
                << " us\n";
  } else if (*list) {
    auto l = cl.list(node);
    if (!l) return fail("list", l.error());
    for (const auto& i : *l) print_info(i);
  } else if (*create) {
    client::CreateOptions o;
    o.template_name = template_name;
    o.memory_bytes = memory_mib << 20;
    o.timeout_ms = uint64_t(timeout_s * 1000);
    auto i = cl.create(o);
    if (!i) return fail("create", i.error());
    std::cout << i->id << "\n";
  } else if (*exec) {
    return run_streaming(cl, id, command, exec_timeout_s);
  } else if (*run) {
    const auto start = std::chrono::steady_clock::now();
    auto i = cl.create({});
    if (!i) return fail("create", i.error());
    const auto created = std::chrono::steady_clock::now();
    const int rc = run_streaming(cl, i->id, command, exec_timeout_s);
    (void)cl.kill(i->id);
    const auto us = [](auto d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
    std::fprintf(stderr, "-> exit %d; create %.2f ms (%s), run %.2f ms, sandbox %s on %s\n", rc,
                 double(us(created - start)) / 1000, i->pool_hit ? "warm pool" : "cold",
                 double(us(std::chrono::steady_clock::now() - created)) / 1000, i->id.c_str(), i->node.c_str());
    return rc;
  } else if (*kill) {
    auto i = cl.kill(id);
    if (!i) return fail("kill", i.error());
    print_info(*i);
  } else if (*info) {
    auto i = cl.info(id);
    if (!i) return fail("info", i.error());
    print_info(*i);
  }
  return 0;
}
