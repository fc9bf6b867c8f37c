// soulboxd: one per host. Starts (or joins) NATS, opens RocksDB, forks the
// single-threaded launcher, then runs the node, pool and scheduler actors
// until SIGTERM or SIGINT, and ends every sandbox on the way out.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "actors/audit_actor.h"
#include "actors/node_actor.h"
#include "actors/scheduler_actor.h"
#include "audit/audit_log.h"
#include "audit/audit_outbox.h"
#include "bus/embedded_server.h"
#include "bus/jetstream.h"
#include "bus/subjects.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "common/stop_signals.h"
#include "daemon/audit_command.h"
#include "daemon/daemon_options.h"
#include "daemon/oom_protection.h"
#include "daemon/recovery.h"
#include "gateway/gateway_service.h"
#include "isolation/cgroup.h"
#include "isolation/host_limits.h"
#include "isolation/launcher_service.h"
#include "storage/store.h"
#include "tenants/tenant_service.h"

namespace {

using namespace soulbox;

int fail(const std::string& what) {
  std::cerr << "soulboxd: " << what << "\n";
  return 1;
}

// <data>/soulboxd.json tells clients on this host how to reach the node
// (mode 0600: it holds the bus password).
// `embedded` (may be null) adds the gateway's and publishers' credentials
// under "roles": tools of this host's admin use the node's, gateways and job
// publishers their own (bus/bus_roles.h).
Status write_ready_file(const std::string& path, const daemon::DaemonOptions& o, const bus::ConnectOptions& c,
                        const std::string& http_url, const bus::EmbeddedServer* embedded) {
  nlohmann::json j = {{"node", o.node.node_id},
                      {"nats_url", c.url},
                      {"nats_user", c.user},
                      {"nats_password", c.password},
                      {"pid", ::getpid()}};
  if (!http_url.empty()) j["http_url"] = http_url;  // the embedded gateway's
  if (embedded)
    for (bus::BusRole role : {bus::BusRole::gateway, bus::BusRole::publisher}) {
      const auto creds = embedded->credentials(role);
      j["roles"][bus::role_name(role)] = {
          {"nats_user", creds.user}, {"nats_password", creds.password}, {"inbox_prefix", creds.inbox_prefix}};
    }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return sys_error("write " + tmp);
    ::chmod(tmp.c_str(), 0600);
    out << j.dump(2) << "\n";
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("rename " + tmp);
  return {};
}

// Records stored but never published (a crash between the two, or a bus
// outage) go to SB_AUDIT now; the msg ids make a repeat harmless.
Status catch_up_audit_stream(bus::JetStream& js, audit::AuditLog& log, const std::string& subject) {
  auto last = js.last_message(bus::subjects::kAuditStream, subject);
  if (!last) return last.error();
  uint64_t published = 0;
  if (last->has_value())
    if (auto r = audit::decode_record((*last)->second)) published = r->seq;
  auto sent = log.republish_after(published);
  if (!sent) return sent.error();
  if (*sent) logger("soulboxd")->warn("published {} audit record(s) the stream had missed", *sent);
  return {};
}

// The embedded default's first start makes tenant "default" and an admin key
// for it, printed this once (the marker file keeps it from happening again).
void print_bootstrap_key(tenants::TenantService& tenants, const std::string& marker) {
  if (::access(marker.c_str(), F_OK) == 0) return;
  auto made = tenants.upsert("default", {});
  auto key =
      made ? tenants.create_key("default", {"admin"}, 0) : Result<std::pair<std::string, std::string>>(made.error());
  if (!key) {
    logger("soulboxd")->error("no bootstrap key: {}", key.error().message);
    return;
  }
  std::cout << "soulboxd: bootstrap admin API key of tenant 'default' (shown this once; keep it): " << key->second
            << "\n";
  std::ofstream(marker) << key->first << "\n";  // the key id only
}

Status wait_for_first_heartbeat(caf::actor_system& system, const caf::actor& scheduler) {
  caf::scoped_actor self{system};
  for (int i = 0; i < 500; ++i) {
    uint64_t known = 0;
    self->request(scheduler, std::chrono::seconds(5), actors::stats_atom::value)
        .receive([&](uint64_t n) { known = n; }, [&](caf::error&) {});
    if (known > 0) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Error{ErrorCode::timeout, "the scheduler heard no heartbeat within 5 s"};
}

// How many sandboxes this host can hold and which limit caps it, printed
// once, with a warning for each limit below the target (docs/density.md).
// The node refuses creates past the cap.
isolation::DensityLimit check_density(bool cgroup_v2, pid_t launcher_pid) {
  isolation::DensityInputs in;
  in.cgroup_v2 = cgroup_v2;
  in.launcher_pid = launcher_pid;
  in.id_slots = isolation::usable_id_slots();
  const auto report = isolation::assess_density(in);
  std::cout << "soulboxd: " << isolation::density_summary(report) << "\n";
  for (const auto& warning : isolation::density_warnings(report)) logger("soulboxd")->warn("{}", warning);
  return report.binding();
}

// Waits for SIGTERM/SIGINT, restarting the embedded nats-server if it dies
// and returning freed memory to the kernel every 30 s.
int wait_for_stop(const sigset_t& stop, bus::EmbeddedServer* embedded) {
  for (unsigned tick = 1;; ++tick) {
    const struct timespec second { 1, 0 };
    const int sig = ::sigtimedwait(&stop, nullptr, &second);
    if (sig > 0) return sig;
    if (tick % 30 == 0) return_free_memory_to_kernel();
    if (embedded) {
      auto restarted = embedded->ensure_running();
      if (!restarted) logger("soulboxd")->error("nats-server restart failed: {}", restarted.error().message);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  keep_large_blocks_out_of_arenas();
  CLI::App app{"soulboxd: the SoulBox node daemon"};
  daemon::DaemonOptions o;
  daemon::add_options(app, o);
  daemon::AuditCommand audit_cmd;
  daemon::add_audit_commands(app, audit_cmd);
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("audit")) return daemon::run_audit_command(audit_cmd);
  if (auto ok = bus::subjects::check_token("--node-id", o.node.node_id); !ok) return fail(ok.error().message);
  auto pool_settings = daemon::pool_settings(o);
  if (!pool_settings) return fail(pool_settings.error().message);
  auto placement = daemon::placement_options(o);
  if (!placement) return fail(placement.error().message);
  auto jobs_settings = daemon::jobs_settings(o);
  if (!jobs_settings) return fail(jobs_settings.error().message);
  auto admission_settings = daemon::admission_settings(o);
  if (!admission_settings) return fail(admission_settings.error().message);
  o.node.admission = *admission_settings;
  o.node.default_timeout_ms = uint64_t(o.default_timeout_s * 1000);
  o.node.max_lifetime_ms = uint64_t(o.max_lifetime_s * 1000);
  o.node.ended_retention_ms = int64_t(o.ended_retention_s * 1000);

  // Before the launcher and nats-server start: they inherit it.
  if (auto protect = daemon::protect_from_oom_killer(); !protect)
    logger("soulboxd")->warn("not protected from the OOM killer: {}", protect.error().message);
  // Each sandbox holds file descriptors here and in the launcher, which
  // inherits this limit (docs/density.md).
  if (auto raised = isolation::raise_open_file_limit(); !raised)
    logger("soulboxd")->warn("open-file limit: {}", raised.error().message);
  else if (raised->after != raised->before)
    logger("soulboxd")->info("open-file limit raised from {} to {}", raised->before, raised->after);

  // 1. The launcher, while this process still has one thread.
  isolation::RuntimeOptions runtime;
  runtime.data_dir = o.data_dir;
  runtime.run_dir = o.run_dir;
  runtime.cgroup_parent = o.cgroup_parent;
  auto launcher = isolation::LauncherClient::spawn(runtime);
  if (!launcher) return fail("cannot start the launcher: " + launcher.error().message);

  // Every thread from here on inherits this mask, so only sigtimedwait below
  // sees them (after the launcher: sandboxes must not inherit it).
  const sigset_t stop = block_stop_signals();

  // 2. State, and what a crash before this start left in it.
  auto store = storage::Store::open({o.data_dir + "/state"});
  if (!store) return fail("cannot open RocksDB in " + o.data_dir + "/state: " + store.error().message);
  if (auto closed = daemon::close_orphaned_records(**store, o.node.node_id); !closed)
    return fail("recovery: " + closed.error().message);
  else if (*closed)
    std::cout << "soulboxd: closed " << *closed << " sandbox record(s) left by the previous run (node restart)\n";

  // 3. The bus.
  std::unique_ptr<bus::EmbeddedServer> embedded;
  bus::ConnectOptions connect{o.nats_url, o.nats_user, o.nats_password, "soulboxd-" + o.node.node_id};
  if (o.nats_url.empty()) {
    auto server = bus::EmbeddedServer::start({o.data_dir + "/nats", "", 10000});
    if (!server) return fail("cannot start the embedded nats-server: " + server.error().message);
    embedded = std::move(*server);
    connect.url = embedded->url();
    connect.user = embedded->credentials(bus::BusRole::node).user;
    connect.password = embedded->credentials(bus::BusRole::node).password;
  }
  auto connection = bus::Connection::connect(connect);
  if (!connection) return fail(connection.error().message);
  if (auto streams = bus::ensure_node_streams(**connection); !streams)
    return fail("JetStream streams: " + streams.error().message);
  auto agent_io = actors::AgentIo::start();
  if (!agent_io) return fail(agent_io.error().message);
  auto cgroups = isolation::detect_cgroup_driver(runtime.cgroup_root, runtime.cgroup_parent);
  if (!cgroups) return fail("cgroups: " + cgroups.error().message);
  // Admission lets sandboxes' limits add up past the host's memory; the
  // kernel holds what they really use together to the capacity.
  const auto& admits = o.node.admission;
  if (auto capped = (*cgroups)->cap_sandboxes_memory(admits.memory_capacity_bytes); !capped)
    return fail("capping the sandboxes' memory at " + std::to_string(admits.memory_capacity_bytes >> 20) +
                " MiB: " + capped.error().message);
  actors::NodeAdmission admission(admits, [c = cgroups->get()] { return c->sandboxes_memory_in_use(); });
  std::cout << fmt::format(
      "soulboxd: sandboxes may use {} MiB together (a new one counts {} MiB until measured), while the host keeps "
      "{} MiB available; {}\n",
      admits.memory_capacity_bytes >> 20, admits.new_sandbox_memory_bytes >> 20, admits.host_memory_floor_bytes >> 20,
      admits.cpu_overcommit > 0
          ? fmt::format("cpus reserved up to {:g} x {:g} cores", admits.cpu_overcommit, admits.cpu_capacity)
          : fmt::format("cpus not reserved ({:g} cores shared)", admits.cpu_capacity));

  // The audit log: records in RocksDB, copies on SB_AUDIT, checkpoints beside.
  auto audit_js = bus::JetStream::open(**connection);
  if (!audit_js) return fail(audit_js.error().message);
  std::error_code dir_error;
  std::filesystem::create_directories(o.data_dir + "/audit", dir_error);
  if (dir_error) return fail("create " + o.data_dir + "/audit: " + dir_error.message());
  const std::string audit_subject = "sb.v1.audit.events." + o.node.node_id;
  auto audit_log = audit::AuditLog::open(
      **store, {o.data_dir + "/audit/audit-key.pem", o.data_dir + "/audit/checkpoints.jsonl", 100},
      [js = audit_js->get(), audit_subject, node = o.node.node_id](const audit::Record& r, const std::string& line) {
        auto ack = js->publish(audit_subject, line, node + "-" + std::to_string(r.seq));
        if (!ack) return Status(ack.error());
        return Status();
      });
  if (!audit_log) return fail("audit log: " + audit_log.error().message);
  std::shared_ptr<audit::AuditLog> audit_shared(std::move(*audit_log));
  if (auto caught_up = catch_up_audit_stream(**audit_js, *audit_shared, audit_subject); !caught_up)
    logger("soulboxd")->error("audit stream: {}", caught_up.error().message);
  // Every node of a cluster needs the same key (--secrets-key); the embedded default makes one.
  auto secret_box =
      tenants::SecretBox::load_or_create(o.secrets_key.empty() ? o.data_dir + "/secrets.key" : o.secrets_key);
  if (!secret_box) return fail("secrets key: " + secret_box.error().message);
  auto tenant_service = tenants::TenantService::start(**connection, o.node.node_id, secret_box->get(), store->get());
  if (!tenant_service) return fail("tenants: " + tenant_service.error().message);
  if (embedded) print_bootstrap_key(**tenant_service, o.data_dir + "/bootstrap-key-issued");
  // After a crash: creates cut short give their quota back, and so do the
  // sandboxes it took (their end events, which carry it, are in the outbox
  // or the chain already).
  if (auto undone = daemon::settle_quota_intents(**store, **tenant_service, o.node.node_id); !undone)
    logger("soulboxd")->error("recovery: {}", undone.error().message);
  else if (*undone)
    std::cout << "soulboxd: gave back the quota of " << *undone << " create(s) a crash cut short\n";
  if (auto given = daemon::give_back_quotas(**store, **tenant_service); !given)
    logger("soulboxd")->error("recovery: {}", given.error().message);
  else if (*given)
    std::cout << "soulboxd: gave back the quota of " << *given << " sandbox(es) to their tenants\n";
  // Events written with their state change but not yet in the chain (a
  // crash came between, or recovery just wrote them), after the stream
  // caught up so it stays in order.
  if (auto drained = audit::drain_outbox(**store, *audit_shared); !drained)
    return fail("audit outbox: " + drained.error().message);
  else if (*drained)
    std::cout << "soulboxd: appended " << *drained << " audit event(s) from the outbox\n";

  auto ctx = std::make_shared<actors::NodeContext>();
  ctx->density = check_density(std::string((*cgroups)->version()) == "v2", (*launcher)->launcher_pid());
  ctx->settings = o.node;
  ctx->bus = connection->get();
  ctx->launcher = launcher->get();
  ctx->store = store->get();
  ctx->agent_io = agent_io->get();
  ctx->cgroups = cgroups->get();
  ctx->tenants = tenant_service->get();
  ctx->admission = &admission;

  int signal_received = 0;
  std::unique_ptr<jobs::JobsService> jobs_service;
  {
    // 4. The actors.
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", 2);
    // Idle workers otherwise poll with 50 us sleeps for ~25 ms before they
    // wait on a condition variable, and a message arriving in that phase
    // waits out the sleep (~100 us on VMs): go straight to the wait, which
    // an enqueue notifies.
    cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
    caf::actor_system system{cfg};
    actors::RetentionLookup retention = [tenants = tenant_service->get()](const std::string& tenant) {
      return int64_t(tenants->audit_policy(tenant).retention_s) * 1000;
    };
    auto audit_actor = system.spawn<caf::detached>(
        actors::audit_actor, audit_shared, store->get(), retention,
        std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(o.audit_retention_every_s)));
    ctx->audit = audit_actor;
    (*tenant_service)->set_audit([audit_actor](audit::Event e) {
      caf::anon_send(audit_actor, actors::audit_atom::value, std::move(e));
    });
    auto pool = system.spawn(actors::pool_actor, ctx, *pool_settings);
    auto node = system.spawn(actors::node_actor, ctx, pool);
    auto scheduler = system.spawn(actors::scheduler_actor, ctx, *placement);
    std::vector<std::unique_ptr<bus::Subscription>> subscriptions;
    auto node_sub = ctx->bus->subscribe(bus::subjects::node_ops(o.node.node_id), "", [node](bus::Message m) {
      caf::anon_send(node, actors::bus_atom::value, std::move(m));
    });
    Status live = node_sub ? actors::subscribe_scheduler(scheduler, *ctx, subscriptions) : Status(node_sub.error());
    if (live) live = ctx->bus->flush(2000);
    if (live) {
      // Ready means placeable: the first heartbeat has reached the scheduler.
      caf::anon_send(node, actors::beat_atom::value);
      live = wait_for_first_heartbeat(system, scheduler);
    }
    jobs_settings->tenants = tenant_service->get();
    if (live && jobs_settings->workers > 0) {
      auto started = jobs::JobsService::start(connect, *jobs_settings);
      if (started)
        jobs_service = std::move(*started);
      else
        live = started.error();
    }
    std::unique_ptr<gateway::GatewayService> http_gateway;
    if (live && o.http_port >= 0) {
      // The single-node default: E2B's API served from this process, on its
      // own bus connection like any gateway.
      gateway::GatewayServiceOptions g;
      g.bus = connect;
      g.bus.name = "soulboxd-gateway";
      if (embedded) {  // with the gateway's own, narrower rights
        const auto creds = embedded->credentials(bus::BusRole::gateway);
        g.bus.user = creds.user;
        g.bus.password = creds.password;
        g.bus.inbox_prefix = creds.inbox_prefix;
      }
      g.token_key_file = o.data_dir + "/gateway-token.key";
      g.http.host = o.http_host;
      g.http.port = uint16_t(o.http_port);
      g.http.max_connections = o.http_max_connections;
      g.http.max_handler_threads = o.http_max_handlers;
      g.api.auth_failures = o.http_auth_failures;
      auto started = gateway::GatewayService::start(g);
      if (started)
        http_gateway = std::move(*started);
      else
        live = Error{started.error().code, "the embedded gateway: " + started.error().message};
    }
    if (live)
      live = write_ready_file(o.data_dir + "/soulboxd.json", o, connect, http_gateway ? http_gateway->url() : "",
                              embedded.get());
    if (live) {
      subscriptions.push_back(std::move(*node_sub));
      std::cout << "soulboxd: node '" << o.node.node_id << "' ready on " << connect.url
                << (embedded ? " (embedded nats-server, user '" + connect.user + "')" : std::string()) << "\n"
                << "soulboxd: connection details for clients: " << o.data_dir << "/soulboxd.json\n"
                << "soulboxd: warm pool of " << o.pool_min << " per template (" << o.pool_strategy << "), launcher pid "
                << (*launcher)->launcher_pid() << "\n";
      if (http_gateway)
        std::cout << "soulboxd: E2B's API on " << http_gateway->url() << " (E2B_API_URL and E2B_SANDBOX_URL)\n";
      std::cout << std::flush;
      signal_received = wait_for_stop(stop, embedded.get());
      std::cout << "soulboxd: stopping (signal " << signal_received << "), ending every sandbox\n" << std::flush;
    } else {
      std::cerr << "soulboxd: start-up failed: " << live.error().message << "\n";
    }
    // 5. Shutdown: no more requests from HTTP or the bus, then every actor, then the system.
    http_gateway.reset();
    subscriptions.clear();
    if (jobs_service) jobs_service->stop_fetching();
    caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    // Once only the audit actor runs, every sandbox has queued its last
    // event; a normal message after them stops it.
    system.registry().await_running_count_equal(1);
    (*tenant_service)->set_audit(nullptr);
    ctx->audit = nullptr;
    caf::anon_send(audit_actor, actors::stop_atom::value, std::string("shutdown"));
    audit_actor = nullptr;
    node = nullptr;
    pool = nullptr;
    scheduler = nullptr;
    system.await_all_actors_done();
    // After the node: jobs cut short by the shutdown are handed back (nak).
    jobs_service.reset();
    if (!live) return 1;
  }
  ::unlink((o.data_dir + "/soulboxd.json").c_str());
  return 0;
}
