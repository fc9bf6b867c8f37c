// The control plane's routes about sandboxes beyond create: list with
// filters and X-Next-Token paging, info, kill, timeout, pause, connect
// (resuming a paused one), and metrics (docs/gateway.md).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/e2b_json.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {
namespace bp = busproto;
using json = nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";
constexpr size_t kMaxPage = 1000;

// What a list asks for: E2B's query parameters, checked.
struct ListQuery {
  std::vector<bp::SandboxState> states;
  client::KeyValues metadata;
  std::string template_name, after_token;
  int64_t started_after_ms = 0;
  bool descending = false;
  size_t limit = 100;
};

Result<ListQuery> list_query(const HttpRequest& req) {
  ListQuery q;
  auto param = [&](const char* name) { return req.query_param(name); };
  for (size_t start = 0; start < param("state").size();) {
    const std::string states = param("state");
    const size_t end = std::min(states.find(',', start), states.size());
    const std::string s = states.substr(start, end - start);
    if (s == "running")
      q.states.push_back(bp::SandboxState::Running);
    else if (s == "paused")
      q.states.push_back(bp::SandboxState::Paused);
    else
      return Error{ErrorCode::invalid_argument, "state must be running and/or paused, comma-separated"};
    start = end + 1;
  }
  // metadata=<url-encoded "k=v&k2=v2">: decoded once by the query parser.
  for (const auto& [k, v] : parse_query(param("metadata"))) q.metadata.emplace_back(k, v);
  q.template_name = param("template");
  const std::string order = param("order");
  if (!order.empty() && order != "asc" && order != "desc")
    return Error{ErrorCode::invalid_argument, "order must be asc or desc"};
  q.descending = order == "desc";
  auto limit = query_number(req, "limit", 100, kMaxPage);
  if (!limit) return limit.error();
  q.limit = *limit ? size_t(*limit) : 100;
  auto after = query_number(req, "startedAfter", 0, int64_t(1) << 40);
  if (!after) return after.error();
  q.started_after_ms = *after * 1000;
  q.after_token = param("nextToken");
  return q;
}

// Pages are ordered by (start time, id); the token is the last item's key.
std::string page_key(const client::SandboxInfo& s) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%015lld", static_cast<long long>(s.created_unix_ms));
  return std::string(buf) + "." + s.id;
}

}  // namespace

void E2bGateway::list(const HttpRequest& req, ResponseWriter& out, client::Client& as) {
  auto q = list_query(req);
  if (!q) return send_error(out, 400, q.error().message);
  std::vector<client::SandboxInfo> all;
  for (const auto& node : nodes_.nodes()) {
    auto part = as.list(node, q->states, q->metadata);
    if (!part) {
      if (part.error().code == ErrorCode::unavailable) continue;  // a node that just left
      return send_error(out, http_status(part.error().code), "listing node " + node + ": " + part.error().message);
    }
    all.insert(all.end(), part->begin(), part->end());
  }
  std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    return q->descending ? page_key(a) > page_key(b) : page_key(a) < page_key(b);
  });
  json page = json::array();
  std::map<std::string, std::string> headers;
  std::string last_key;
  for (const auto& s : all) {
    if (s.state == bp::SandboxState::Terminated || s.created_unix_ms < q->started_after_ms) continue;
    if (!q->template_name.empty() && s.template_name != q->template_name) continue;
    const std::string key = page_key(s);
    if (!q->after_token.empty() && (q->descending ? key >= q->after_token : key <= q->after_token)) continue;
    if (page.size() == q->limit) {  // there is more: the next page starts after this one's last
      headers["X-Next-Token"] = last_key;
      break;
    }
    page.push_back(sandbox_json(s, options_.envd_version));
    last_key = key;
  }
  out.send(200, kJson, json_text(page), headers);
}

void E2bGateway::info(ResponseWriter& out, client::Client& as, const std::string& id) {
  auto info = as.info(id);
  if (!info) return send_error(out, about_sandbox(info.error(), id));
  if (info->state == bp::SandboxState::Terminated) return send_error(out, 404, "sandbox " + id + " not found");
  out.send(200, kJson, json_text(sandbox_json(*info, options_.envd_version)));
}

void E2bGateway::kill(ResponseWriter& out, client::Client& as, const std::string& id) {
  auto killed = as.kill(id);
  if (!killed) return send_error(out, about_sandbox(killed.error(), id));
  out.send(204, "", "");
}

void E2bGateway::set_timeout(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id) {
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("timeout") || !body["timeout"].is_number_unsigned() ||
      body["timeout"].get<uint64_t>() > 86400 * 30)
    return send_error(out, 400, "body must be {\"timeout\": <seconds>}");
  auto set = as.set_timeout(id, body["timeout"].get<uint64_t>() * 1000);
  if (!set) return send_error(out, about_sandbox(set.error(), id));
  out.send(204, "", "");
}

void E2bGateway::pause(ResponseWriter& out, client::Client& as, const std::string& id) {
  auto info = as.info(id);
  if (!info) return send_error(out, about_sandbox(info.error(), id));
  if (info->state == bp::SandboxState::Paused) return send_error(out, 409, "sandbox " + id + " is already paused");
  auto paused = as.pause(id);
  if (!paused) return send_error(out, about_sandbox(paused.error(), id));
  out.send(204, "", "");
}

// Connect answers like create: 201 when it resumed a paused sandbox, 200 when
// it was running; a timeout in the body becomes the sandbox's new lifetime.
void E2bGateway::connect(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id) {
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return send_error(out, 400, "the body is not a JSON object");
  if (body.contains("timeout") &&
      (!body["timeout"].is_number_unsigned() || body["timeout"].get<uint64_t>() > 86400 * 30))
    return send_error(out, 400, "timeout must be a number of seconds");
  auto info = as.info(id);
  if (!info) return send_error(out, about_sandbox(info.error(), id));
  if (info->state == bp::SandboxState::Terminated) return send_error(out, 404, "sandbox " + id + " not found");
  const bool resumed = info->state == bp::SandboxState::Paused;
  if (resumed) {
    auto r = as.resume(id);
    if (!r) return send_error(out, about_sandbox(r.error(), id));
  }
  if (body.contains("timeout")) {
    auto set = as.set_timeout(id, body["timeout"].get<uint64_t>() * 1000);
    if (!set) return send_error(out, about_sandbox(set.error(), id));
  }
  out.send(resumed ? 201 : 200, kJson, json_text(created_json(*info)));
}

void E2bGateway::metrics(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id) {
  auto start = query_number(req, "start", 0, int64_t(1) << 40);
  auto end = query_number(req, "end", 0, int64_t(1) << 40);
  if (!start || !end) return send_error(out, 400, (!start ? start.error() : end.error()).message);
  auto info = as.info(id);
  if (!info) return send_error(out, about_sandbox(info.error(), id));
  auto samples = as.metrics(id, *start * 1000, *end * 1000);
  if (!samples) return send_error(out, about_sandbox(samples.error(), id));
  const int cpus = std::max(1, int(info->cpus + 0.5f));
  json series = json::array();
  for (const auto& s : *samples)
    series.push_back(json{{"timestamp", rfc3339(s.unix_ms())},
                          {"timestampUnix", s.unix_ms() / 1000},
                          {"cpuUsedPct", s.cpu_percent() / cpus},
                          {"cpuCount", cpus},
                          {"memUsed", s.memory_bytes()},
                          {"memTotal", info->memory_bytes},
                          {"memCache", 0},
                          {"diskUsed", 0},
                          {"diskTotal", 0}});
  out.send(200, kJson, json_text(series));
}

}  // namespace soulbox::gateway
