// soulbox sandbox create|list|info|kill|pause|resume, and run (one-shot code).
#include <iomanip>
#include <iostream>

#include "cli/soulbox/commands.h"

namespace soulbox::cli {
namespace {

using json = nlohmann::json;

Result<json> key_values(const std::vector<std::string>& pairs, const char* what) {
  json out = json::object();
  for (const auto& kv : pairs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error{ErrorCode::invalid_argument, std::string(what) + " must be key=value, not '" + kv + "'"};
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

int lifecycle(Context& c, const std::string& method, const std::string& target, const std::string& done) {
  auto r = c.api.call(method, target, method == "POST" ? json::object() : json(nullptr));
  if (!r) return fail(done, r.error());
  if (c.json)
    std::cout << (r->is_null() ? json{{"ok", true}} : *r).dump() << "\n";
  else
    std::cout << done << "\n";
  return 0;
}

}  // namespace

int fail(const std::string& what, const Error& e) {
  std::cerr << "soulbox: " << what << ": " << e.message << "\n";
  if (e.code == ErrorCode::permission_denied)
    std::cerr << "  (check the API key: `soulbox config`, or run `soulbox init --api-key sb_...`)\n";
  if (e.code == ErrorCode::unavailable)
    std::cerr << "  (is SoulBox running? `./run.sh` starts it; the URL comes from `soulbox config`)\n";
  return 1;
}

void warn(const std::string& what, const std::string& message) {
  std::cerr << "soulbox: " << what << ": warning: " << message << "\n";
}

int sandbox_create(Context& c, const CreateArgs& a) {
  auto metadata = key_values(a.metadata, "--metadata");
  auto env = key_values(a.env, "--env");
  if (!metadata || !env) return fail("create", !metadata ? metadata.error() : env.error());
  auto made = c.api.call(
      "POST", "/v2/sandboxes",
      json{{"templateID", a.template_name}, {"timeout", a.timeout_s}, {"metadata", *metadata}, {"envVars", *env}});
  if (!made) return fail("create", made.error());
  if (c.json)
    std::cout << made->dump() << "\n";
  else
    std::cout << made->value("sandboxID", "") << "\n";
  return 0;
}

int sandbox_list(Context& c) {
  json all = json::array();
  std::string next;
  do {
    auto page = c.api.call("GET", "/v2/sandboxes?limit=100" + (next.empty() ? "" : "&nextToken=" + next));
    if (!page) return fail("list", page.error());
    for (auto& s : *page) all.push_back(s);
    next = c.api.last_header("x-next-token");  // (start time, id): no characters to escape
  } while (!next.empty());
  if (c.json) {
    std::cout << all.dump() << "\n";
    return 0;
  }
  std::cout << std::left << std::setw(22) << "SANDBOX" << std::setw(14) << "TEMPLATE" << std::setw(9) << "STATE"
            << "STARTED\n";
  for (const auto& s : all)
    std::cout << std::setw(22) << s.value("sandboxID", "") << std::setw(14) << s.value("templateID", "") << std::setw(9)
              << s.value("state", "") << s.value("startedAt", "") << "\n";
  return 0;
}

int sandbox_info(Context& c, const std::string& id) {
  auto info = c.api.call("GET", "/sandboxes/" + id);
  if (!info) return fail("info", info.error());
  std::cout << (c.json ? info->dump() : info->dump(2)) << "\n";
  return 0;
}

int sandbox_kill(Context& c, const std::string& id) {
  return lifecycle(c, "DELETE", "/sandboxes/" + id, "killed " + id);
}

int sandbox_pause(Context& c, const std::string& id) {
  return lifecycle(c, "POST", "/sandboxes/" + id + "/pause", "paused " + id);
}

int sandbox_resume(Context& c, const std::string& id) {
  return lifecycle(c, "POST", "/sandboxes/" + id + "/connect", "resumed " + id);
}

}  // namespace soulbox::cli
