// SoulBox's own API beside E2B's (/v1/...), authenticated like the control
// plane. So far: a sandbox's process logs.
#include <nlohmann/json.hpp>

#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;

// The last `lines` lines of `text` (all when 0).
std::string tail_lines(const std::string& text, size_t lines) {
  if (lines == 0) return text;
  size_t pos = text.size();
  if (pos && text[pos - 1] == '\n') --pos;
  for (size_t seen = 0; pos > 0; --pos)
    if (text[pos - 1] == '\n' && ++seen == lines) break;
  return text.substr(pos);
}

}  // namespace

// GET /v1/sandboxes/{id}/logs[?pid=N][&tail=K]: every process's output so
// far (the agent keeps up to each process's output limit), oldest first.
void E2bGateway::logs(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id) {
  auto param = [&](const char* name) -> Result<int64_t> {
    auto it = req.query.find(name);
    if (it == req.query.end() || it->second.empty()) return int64_t(0);
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (*end || v < 0 || v > 1000000000)
      return Error{ErrorCode::invalid_argument, std::string(name) + " is not a count"};
    return int64_t(v);
  };
  auto pid = param("pid");
  auto tail = param("tail");
  if (!pid || !tail) return send_error(out, 400, (!pid ? pid.error() : tail.error()).message);
  auto procs = as.processes(id);
  if (!procs) return send_error(out, about_sandbox(procs.error(), id));
  json list = json::array();
  for (const auto& p : *procs) {
    if (*pid && p.pid != *pid) continue;
    auto o = as.output(id, p.pid);
    if (!o) continue;  // reaped between the list and the query
    list.push_back({{"pid", p.pid},
                    {"argv", p.argv},
                    {"tag", p.tag},
                    {"running", p.running},
                    {"exitCode", o->finished ? json(o->exit_code) : json(nullptr)},
                    {"stdout", tail_lines(o->out, size_t(*tail))},
                    {"stderr", tail_lines(o->err, size_t(*tail))},
                    {"truncated", o->truncated}});
  }
  if (*pid && list.empty()) return send_error(out, 404, "no process " + std::to_string(*pid) + " in " + id);
  out.send(200, "application/json", json{{"sandboxID", id}, {"processes", list}}.dump());
}

}  // namespace soulbox::gateway
