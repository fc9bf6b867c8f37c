// soulbox sandbox create|list|info|kill|pause|resume, and run (one-shot code).
#include <time.h>

#include <iostream>

#include "cli/soulbox/commands.h"
#include "cli/soulbox/text_columns.h"

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

// Seconds since the epoch of an RFC 3339 time ("2025-01-02T03:04:05Z").
std::optional<int64_t> unix_seconds(const std::string& rfc3339) {
  struct tm tm {};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  return int64_t(timegm(&tm));
}

// The node ends a sandbox at its --max-lifetime whatever the create asked:
// says so when it shortened this one (its endAt comes before the timeout).
void warn_if_shortened(Context& c, const std::string& id, int timeout_s) {
  auto info = c.api.call("GET", "/sandboxes/" + id);
  if (!info || !info->is_object()) return;  // made; only the check is lost
  const auto start = unix_seconds(info->value("startedAt", "")), end = unix_seconds(info->value("endAt", ""));
  if (!start || !end || *end - *start >= timeout_s) return;
  warn("create", "the node keeps a sandbox at most " + std::to_string(*end - *start) +
                     " s (soulboxd --max-lifetime): " + id + " ends at " + info->value("endAt", "") + ", not in " +
                     std::to_string(timeout_s) + " s");
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
  if (a.timeout_s < 1 || a.timeout_s > kMaxLifetimeS)
    return fail("create", Error{ErrorCode::invalid_argument,
                                "--timeout must be 1 to " + std::to_string(kMaxLifetimeS) +
                                    " seconds (30 days, the API's limit; the node also ends a sandbox at its "
                                    "--max-lifetime, a day by default); leave it out for " +
                                    std::to_string(kDefaultLifetimeS)});
  auto metadata = key_values(a.metadata, "--metadata");
  auto env = key_values(a.env, "--env");
  if (!metadata || !env) return fail("create", !metadata ? metadata.error() : env.error());
  auto made = c.api.call(
      "POST", "/v2/sandboxes",
      json{{"templateID", a.template_name}, {"timeout", a.timeout_s}, {"metadata", *metadata}, {"envVars", *env}});
  if (!made) return fail("create", made.error());
  warn_if_shortened(c, made->value("sandboxID", ""), a.timeout_s);
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
  std::vector<std::vector<std::string>> rows{{"SANDBOX", "TEMPLATE", "STATE", "STARTED"}};
  for (const auto& s : all)
    rows.push_back(
        {s.value("sandboxID", ""), s.value("templateID", ""), s.value("state", ""), s.value("startedAt", "")});
  std::cout << text_columns(rows);
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
