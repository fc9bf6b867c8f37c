// SoulBox's own API beside E2B's (/v1/...), authenticated like the control
// plane. So far: a sandbox's process logs.
#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/e2b_json.h"
#include "gateway/envd_files.h"
#include "gateway/json_text.h"

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
  auto pid = query_number(req, "pid", 0, 1000000000);
  auto tail = query_number(req, "tail", 0, 1000000000);
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
  out.send(200, "application/json", json_text(json{{"sandboxID", id}, {"processes", list}}));
}

// POST /v1/sandboxes/{id}/files/sign {path, operation: read|write,
// expires_in (s, default 300), single_use, user}: a URL that reads or writes
// that one file without any other credential, until it expires (or its
// first use). The caller must be allowed that access now: reading is
// checked with a stat, writing by making the file's directory.
void E2bGateway::sign_file_url(const HttpRequest& req, ResponseWriter& out, client::Client& as, const std::string& id) {
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("path") || !body["path"].is_string())
    return send_error(out, 400, "body must be {\"path\": ..., \"operation\": \"read\"|\"write\", ...}");
  std::string user = "user", operation = "read";
  int64_t lifetime = 300;
  bool single_use = false;
  JsonFields fields(body, "body");
  fields.read("user", user);
  fields.read("operation", operation);
  fields.read("expires_in", lifetime);
  fields.read("single_use", single_use);
  if (!fields.ok()) return send_error(out, fields.status(ErrorCode::invalid_argument).error());
  if (user != "user" && user != "root") return send_error(out, 400, "user must be user or root");
  const std::string path = in_home(user, body["path"].get<std::string>());
  Status allowed;
  if (operation == "read") {
    auto st = as.stat(id, path);
    if (!st) allowed = st.error();
  } else if (operation == "write") {
    allowed = as.make_dir(id, path.substr(0, std::max<size_t>(1, path.rfind('/'))));
  }
  if (!allowed) return send_error(out, about_sandbox(allowed.error(), id));
  auto issued = urls_.issue(id, path, operation, user == "user" ? "" : user, lifetime, single_use);
  if (!issued) return send_error(out, issued.error());
  out.send(200, "application/json",
           json_text(json{{"url", req.base_url() + "/v1/sandboxes/" + id + "/files?" + issued->query},
                          {"expiresAt", issued->expires_unix_s},
                          {"singleUse", single_use}}));
}

}  // namespace soulbox::gateway
