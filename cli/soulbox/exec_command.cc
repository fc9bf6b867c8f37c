// soulbox exec [-i] <id> -- cmd...: a process in the sandbox with its output
// here; -i gives it a pseudo-terminal driven from this one (raw mode, our
// keystrokes as its input, our window size kept in step on SIGWINCH).
// Without -i, a stdin that is not a terminal (a pipe, a file) is the
// process's stdin, to its end, as with `docker exec -i` and ssh; a terminal
// is not read (the process gets an empty stdin), so a forgotten -i never
// swallows keystrokes.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/soulbox/commands.h"
#include "cli/soulbox/terminal.h"
#include "common/base64.h"

namespace soulbox::cli {
namespace {

using json = nlohmann::json;
std::atomic<bool> g_resized{false};

void on_winch(int) {
  g_resized = true;
}

void write_all(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;
    done += size_t(n);
  }
}

// Our stdin to the process's terminal, and resizes, until `stop`.
void pump_terminal(ApiClient& api, const ApiClient::Sandbox& box, int pid, const std::atomic<bool>& stop) {
  char buf[4096];
  while (!stop) {
    if (g_resized.exchange(false)) {
      const auto [rows, cols] = window_size(0);
      (void)api.rpc(box, "process.Process/Update",
                    json{{"process", {{"pid", pid}}}, {"pty", {{"size", {{"cols", cols}, {"rows", rows}}}}}});
    }
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n <= 0) return;  // our stdin ended: the remote terminal keeps what it has
    (void)api.rpc(box, "process.Process/SendInput",
                  json{{"process", {{"pid", pid}}}, {"input", {{"pty", base64_encode(std::string(buf, size_t(n)))}}}});
  }
}

// One piece of our stdin to the process, waiting while its backlog in the
// sandbox is full; false when the process no longer takes input.
bool send_stdin(ApiClient& api, const ApiClient::Sandbox& box, int pid, const std::string& data,
                const std::atomic<bool>& stop) {
  const json input{{"process", {{"pid", pid}}}, {"input", {{"stdin", base64_encode(data)}}}};
  while (!stop) {
    auto sent = api.rpc(box, "process.Process/SendInput", input);
    if (sent) return true;
    if (sent.error().code != ErrorCode::resource_exhausted) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // it reads slower than we send
  }
  return false;
}

// Our stdin (a pipe or a file) to the process's, then its end, until `stop`.
void pump_stdin(ApiClient& api, const ApiClient::Sandbox& box, int pid, const std::atomic<bool>& stop) {
  std::string buf(64 * 1024, '\0');
  while (!stop) {
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 100) == 0) continue;
    const ssize_t n = ::read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // its end (or an unreadable stdin: the same to the process)
    if (!send_stdin(api, box, pid, buf.substr(0, size_t(n)), stop)) return;
  }
  if (!stop) (void)api.rpc(box, "process.Process/CloseStdin", json{{"process", {{"pid", pid}}}});
}

}  // namespace

int exec_command(Context& c, const std::string& id, const std::vector<std::string>& argv, bool interactive) {
  if (argv.empty()) return fail("exec", Error{ErrorCode::invalid_argument, "no command (soulbox exec <id> -- cmd)"});
  auto box = c.api.open(id);
  if (!box) return fail("exec " + id, box.error());
  json process{{"cmd", argv[0]}, {"args", std::vector<std::string>(argv.begin() + 1, argv.end())}};
  json start{{"process", process}};
  const bool forward_stdin = !interactive && !::isatty(0);
  if (forward_stdin) start["stdin"] = true;
  if (interactive) {
    const auto [rows, cols] = window_size(0);
    const char* term = std::getenv("TERM");
    start["process"]["envs"] = {{"TERM", term && *term ? term : "xterm-256color"}};
    start["pty"] = {{"size", {{"cols", cols}, {"rows", rows}}}};
  }
  std::unique_ptr<RawMode> raw;
  std::atomic<bool> stop{false};
  std::thread input;
  int exit_code = 1;
  bool ended = false;
  auto status = c.api.stream(*box, "process.Process/Start", start, [&](const json& m) {
    const json event = m.value("event", json::object());
    if (event.contains("start") && interactive) {
      raw = std::make_unique<RawMode>(0);
      ::signal(SIGWINCH, on_winch);
      input = std::thread(pump_terminal, std::ref(c.api), *box, event["start"].value("pid", 0), std::cref(stop));
    } else if (event.contains("start") && forward_stdin) {
      input = std::thread(pump_stdin, std::ref(c.api), *box, event["start"].value("pid", 0), std::cref(stop));
    } else if (event.contains("data")) {
      for (const auto& [name, b64] : event["data"].items()) {
        auto bytes = base64_decode(b64.get<std::string>());
        if (bytes) write_all(name == "stderr" ? 2 : 1, *bytes);
      }
    } else if (event.contains("end")) {
      exit_code = event["end"].value("exitCode", 1);
      ended = true;
    }
    return true;
  });
  stop = true;
  if (input.joinable()) input.join();
  raw.reset();
  if (!status) return fail("exec", status.error());
  if (!ended) return fail("exec", Error{ErrorCode::unavailable, "the process stream ended early"});
  return exit_code;
}

}  // namespace soulbox::cli
