// soulbox logs [-f] [--tail N] [--pid P] <id>: what the sandbox's processes
// wrote (kept by its agent), then with -f what one running process writes
// from now on.
#include <iostream>

#include "cli/soulbox/commands.h"
#include "common/base64.h"

namespace soulbox::cli {

using json = nlohmann::json;

int logs(Context& c, const std::string& id, int pid, int tail, bool follow) {
  std::string target = "/v1/sandboxes/" + id + "/logs?tail=" + std::to_string(tail);
  if (pid) target += "&pid=" + std::to_string(pid);
  auto got = c.api.call("GET", target);
  if (!got) return fail("logs", got.error());
  int follow_pid = pid;
  if (c.json) {
    std::cout << got->dump() << "\n";
  } else {
    for (const auto& p : (*got)["processes"]) {
      std::string argv;
      for (const auto& a : p["argv"]) argv += (argv.empty() ? "" : " ") + a.get<std::string>();
      std::cout << "== " << p["pid"].get<int>() << ": " << argv << " ("
                << (p["running"].get<bool>() ? "running" : "exited " + p["exitCode"].dump()) << ")"
                << (p["truncated"].get<bool>() ? " [truncated]" : "") << "\n"
                << p["stdout"].get<std::string>();
      std::cerr << p["stderr"].get<std::string>();
      if (p["running"].get<bool>() && !pid) follow_pid = p["pid"].get<int>();  // the newest running
    }
  }
  std::cout << std::flush;
  if (!follow) return 0;
  if (!follow_pid) return fail("logs -f", Error{ErrorCode::not_found, "no running process to follow"});
  auto box = c.api.open(id);
  if (!box) return fail("logs -f", box.error());
  auto st = c.api.stream(*box, "process.Process/Connect", json{{"process", {{"pid", follow_pid}}}}, [](const json& m) {
    const json event = m.value("event", json::object());
    if (event.contains("data"))
      for (const auto& [name, b64] : event["data"].items())
        if (auto bytes = base64_decode(b64.get<std::string>()))
          (name == "stderr" ? std::cerr : std::cout) << *bytes << std::flush;
    return true;
  });
  if (!st) return fail("logs -f", st.error());
  return 0;
}

}  // namespace soulbox::cli
