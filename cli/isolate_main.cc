// soulbox-isolate: runs one command in a fresh sandbox and exits with its
// status, like bwrap or nsjail. Exit codes: the command's own; 128+N when a
// signal N ended it; 124 on timeout; 125 when the sandbox could not be made.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>

#include "agent/client/agent_client.h"
#include "cli/size_parse.h"
#include "isolation/runtime.h"

namespace {

using soulbox::agentproto::Stream;

constexpr int kSetupFailed = 125;
constexpr int kTimedOut = 124;

std::atomic<int> g_signal{0};
void on_signal(int signo) {
  g_signal.store(signo);
}

struct Options {
  std::string memory = "512M", disk = "1G", tmp = "256M", template_name = "base", data_dir = "/var/lib/soulbox";
  std::string cwd, user, hostname = "soulbox";
  double cpus = 1.0, timeout_s = 0;
  int64_t pids = 256;
  bool forward_stdin = false;
  std::vector<std::string> env, binds, command;
};

int fail(const std::string& message) {
  std::cerr << "soulbox-isolate: " << message << "\n";
  return kSetupFailed;
}

bool parse_bind(const std::string& text, soulbox::isolation::BindMount* out) {
  // HOST[:SANDBOX][:rw]
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t pos; (pos = text.find(':', start)) != std::string::npos; start = pos + 1)
    parts.push_back(text.substr(start, pos - start));
  parts.push_back(text.substr(start));
  if (parts.empty() || parts.size() > 3) return false;
  out->host_path = parts[0];
  out->sandbox_path = parts.size() >= 2 && parts[1] != "rw" ? parts[1] : parts[0];
  out->writable = parts.back() == "rw" && parts.size() > 1;
  return true;
}

soulbox::Result<soulbox::isolation::SandboxSpec> make_spec(const Options& o) {
  using soulbox::Error;
  using soulbox::ErrorCode;
  soulbox::isolation::SandboxSpec spec;
  spec.template_name = o.template_name;
  spec.hostname = o.hostname;
  auto memory = soulbox::cli::parse_size(o.memory);
  auto disk = soulbox::cli::parse_size(o.disk);
  auto tmp = soulbox::cli::parse_size(o.tmp);
  if (!memory) return Error{ErrorCode::invalid_argument, "--memory: not a size: '" + o.memory + "' (try 512M)"};
  if (!disk) return Error{ErrorCode::invalid_argument, "--disk: not a size: '" + o.disk + "' (try 1G)"};
  if (!tmp) return Error{ErrorCode::invalid_argument, "--tmp-size: not a size: '" + o.tmp + "' (try 256M)"};
  if (o.pids < 0) return Error{ErrorCode::invalid_argument, "--pids must be positive"};
  if (o.timeout_s < 0 || o.timeout_s > 86400 * 7)
    return Error{ErrorCode::invalid_argument, "--timeout must be between 0 (none) and 604800 seconds"};
  spec.limits.memory_bytes = *memory;
  spec.limits.disk_bytes = *disk;
  spec.limits.tmp_bytes = *tmp;
  spec.limits.cpus = o.cpus;
  spec.limits.pids = uint32_t(std::min<int64_t>(o.pids, UINT32_MAX));
  for (const auto& b : o.binds) {
    soulbox::isolation::BindMount bind;
    if (!parse_bind(b, &bind))
      return Error{ErrorCode::invalid_argument, "--bind: expected HOST[:SANDBOX][:rw], got '" + b + "'"};
    spec.binds.push_back(bind);
  }
  if (auto st = soulbox::isolation::validate_spec(spec); !st) return st.error();
  return spec;
}

// Passes our stdin on as it comes, without blocking. Data the agent cannot
// take yet (the process is not reading) is kept and offered again.
class StdinForwarder {
 public:
  explicit StdinForwarder(bool open) : open_(open) {}
  bool open() const { return open_; }

  void step(soulbox::AgentClient& client, int pid) {
    if (!open_) return;
    if (pending_.empty() && !eof_) read_some();
    if (pending_.empty() && !eof_) return;
    auto st = client.send_input(pid, pending_, eof_);
    if (st) {
      pending_.clear();
      if (eof_) open_ = false;
    } else if (st.error().code != soulbox::ErrorCode::resource_exhausted) {
      open_ = false;  // the process is gone or closed its stdin
    }
  }

 private:
  void read_some() {
    struct pollfd p {
      0, POLLIN, 0
    };
    if (::poll(&p, 1, 0) <= 0) return;
    char buf[65536];
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0)
      eof_ = true;
    else
      pending_.assign(buf, size_t(n));
  }

  bool open_;
  bool eof_ = false;
  std::string pending_;
};

// Streams the process's output to ours (and our stdin to it) until it ends;
// a first SIGINT/SIGTERM is forwarded to the process, a second one gives up.
soulbox::Result<soulbox::ProcessResult> pump(soulbox::AgentClient& client, uint64_t request_id, int pid,
                                             bool forward_stdin) {
  StdinForwarder input(forward_stdin);
  int forwarded = 0;
  for (;;) {
    if (int signo = g_signal.exchange(0)) {
      if (forwarded++ > 0) return soulbox::Error{soulbox::ErrorCode::cancelled, "interrupted"};
      (void)client.signal(pid, signo);
    }
    input.step(client, pid);
    auto result = client.wait(request_id, input.open() ? 10 : 200, [](Stream stream, const std::string& data) {
      FILE* out = stream == Stream::Stderr ? stderr : stdout;
      std::fwrite(data.data(), 1, data.size(), out);
      std::fflush(out);
    });
    if (result || result.error().code != soulbox::ErrorCode::timeout) return result;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Run one command in a fresh SoulBox sandbox and exit with its status."};
  app.add_option("--memory", o.memory, "memory limit, e.g. 512M (no swap)")->capture_default_str();
  app.add_option("--cpus", o.cpus, "CPU quota in cores, e.g. 0.5")->capture_default_str();
  app.add_option("--pids", o.pids, "maximum number of processes and threads")->capture_default_str();
  app.add_option("--disk", o.disk, "size of the writable root layer")->capture_default_str();
  app.add_option("--tmp-size", o.tmp, "size of /tmp")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "seconds before the command is killed (0: none)")->capture_default_str();
  app.add_option("--template", o.template_name, "template name")->capture_default_str();
  app.add_option("--bind", o.binds, "HOST[:SANDBOX][:rw] bind mount (read-only unless :rw)");
  app.add_option("-e,--env", o.env, "KEY=VALUE environment variable");
  app.add_option("--cwd", o.cwd, "working directory inside the sandbox (default: home)");
  app.add_option("--user", o.user, "'user' (uid 1000, default) or 'root' (uid 0 inside, no capabilities)");
  app.add_option("--hostname", o.hostname, "hostname inside")->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "SoulBox data directory")->capture_default_str();
  app.add_flag("--stdin", o.forward_stdin, "pass our stdin to the command as it comes (else it reads /dev/null)");
  // Everything from the first positional (or after "--") is the command, so
  // its own options are never taken for ours.
  app.prefix_command();
  app.footer("Usage: soulbox-isolate [OPTIONS] -- COMMAND [ARGS...]");
  CLI11_PARSE(app, argc, argv);
  o.command = app.remaining();
  if (!o.command.empty() && o.command.front() == "--") o.command.erase(o.command.begin());
  if (o.command.empty()) return fail("no command given: soulbox-isolate [OPTIONS] -- COMMAND [ARGS...]");

  auto spec = make_spec(o);
  if (!spec) return fail(spec.error().message);
  for (const auto& e : o.env)
    if (e.find('=') == std::string::npos || e[0] == '=') return fail("--env: expected KEY=VALUE, got '" + e + "'");

  soulbox::isolation::RuntimeOptions ro;
  ro.data_dir = o.data_dir;
  ro.netns_pool = 0;  // one sandbox per run: a pool would only add work
  auto runtime = soulbox::isolation::Runtime::open(ro);
  if (!runtime) return fail(runtime.error().message);
  auto sandbox = (*runtime)->create(*spec);
  if (!sandbox) return fail(sandbox.error().message);
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGHUP, on_signal);

  soulbox::AgentClient client((*sandbox)->channel_fd());
  if (auto hello = client.handshake(); !hello) return fail(hello.error().message);
  soulbox::ProcessSpec ps;
  ps.argv = o.command;
  ps.env = o.env;
  ps.cwd = o.cwd;
  ps.user = o.user;
  ps.stdin_open = o.forward_stdin;
  ps.timeout_ms = uint32_t(o.timeout_s * 1000);
  uint64_t request_id = 0;
  auto pid = client.start(ps, &request_id);
  if (!pid) return fail(pid.error().message);
  auto result = pump(client, request_id, *pid, o.forward_stdin);
  if (auto st = (*sandbox)->destroy(); !st) std::cerr << "soulbox-isolate: teardown: " << st.error().message << "\n";
  if (!result) return fail(result.error().message);
  if (result->truncated) std::cerr << "soulbox-isolate: output was truncated at the output limit\n";
  if (result->timed_out) {
    std::cerr << "soulbox-isolate: timed out after " << o.timeout_s << " s\n";
    return kTimedOut;
  }
  return result->signal ? 128 + result->signal : result->exit_code;
}
