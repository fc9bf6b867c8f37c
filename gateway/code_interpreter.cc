#include "gateway/code_interpreter.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/json_text.h"
#include "gateway/stream_clock.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;
constexpr const char* kJson = "application/json";
constexpr const char* kNdjson = "application/x-ndjson";
// E2B's server sends a keepalive line every 5 s while a cell is quiet.
constexpr int kKeepaliveMs = 5000;

std::string utc_timestamp() {
  return rfc3339_ns(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// E2B's SDK turns a 404's body text into NotFoundError("Context X not found").
void send_code_error(ResponseWriter& out, const Error& e) {
  if (e.code == ErrorCode::not_found) return out.send(404, "text/plain; charset=utf-8", e.message);
  send_error(out, e);
}

// A string field that may be absent or null; false when it is something else.
bool optional_string(const json& body, const char* field, std::string& value) {
  if (!body.contains(field) || body[field].is_null()) return true;
  if (!body[field].is_string()) return false;
  value = body[field].get<std::string>();
  return true;
}

Result<json> object_body(const HttpRequest& req) {
  if (req.body.empty()) return json::object();
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return Error{ErrorCode::invalid_argument, "the body must be a JSON object"};
  return body;
}

Result<client::CodeRunSpec> execute_spec(const HttpRequest& req) {
  auto body = object_body(req);
  if (!body) return body.error();
  client::CodeRunSpec spec;
  if (!body->contains("code") || !(*body)["code"].is_string())
    return Error{ErrorCode::invalid_argument, "code must be a string"};
  spec.code = (*body)["code"].get<std::string>();
  if (!optional_string(*body, "context_id", spec.context_id) || !optional_string(*body, "language", spec.language))
    return Error{ErrorCode::invalid_argument, "context_id and language must be strings"};
  if (!spec.context_id.empty() && !spec.language.empty())
    return Error{ErrorCode::invalid_argument, "context_id and language are mutually exclusive"};
  if (body->contains("env_vars") && !(*body)["env_vars"].is_null()) {
    const json& env = (*body)["env_vars"];
    if (!env.is_object()) return Error{ErrorCode::invalid_argument, "env_vars must be an object of strings"};
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (!it.value().is_string() || it.key().empty() || it.key().find('=') != std::string::npos)
        return Error{ErrorCode::invalid_argument, "env_vars must be an object of strings with names free of '='"};
      spec.env.push_back(it.key() + "=" + it.value().get<std::string>());
    }
  }
  // SoulBox's own: a server-side limit (the SDK's timeoutMs only stops reading).
  if (body->contains("timeout_ms") && !(*body)["timeout_ms"].is_null()) {
    const json& t = (*body)["timeout_ms"];
    if (!t.is_number_unsigned() || t.get<uint64_t>() > 24ull * 3600 * 1000)
      return Error{ErrorCode::invalid_argument, "timeout_ms must be a whole number of milliseconds up to 24 h"};
    spec.timeout_ms = uint32_t(t.get<uint64_t>());
  }
  return spec;
}

json event_line(const client::CodeEventData& e) {
  switch (e.kind) {
    case agentproto::CodeEventKind::Stdout:
      return json{{"type", "stdout"}, {"text", e.data}, {"timestamp", utc_timestamp()}};
    case agentproto::CodeEventKind::Stderr:
      return json{{"type", "stderr"}, {"text", e.data}, {"timestamp", utc_timestamp()}};
    case agentproto::CodeEventKind::ExecutionCount:
      return json{{"type", "number_of_executions"}, {"execution_count", e.execution_count}};
    case agentproto::CodeEventKind::Result:
    case agentproto::CodeEventKind::Error: {
      json j = json::parse(e.data, nullptr, false);
      if (!j.is_object()) j = json{{"text", e.data}};
      j["type"] = e.kind == agentproto::CodeEventKind::Result ? "result" : "error";
      return j;
    }
  }
  return json::object();
}

json artifacts_line(const std::vector<client::CodeArtifact>& artifacts) {
  json list = json::array();
  for (const auto& a : artifacts) list.push_back(json{{"path", a.path}, {"mime_type", a.mime}, {"size", a.size}});
  return json{{"type", "artifacts"}, {"artifacts", list}};
}

}  // namespace

// POST /execute: the cell's events as NDJSON lines. The lines of one bus
// message go out in one write, and a quick cell's whole answer (head,
// lines, end) in one: what a cell says in its first 50 ms waits that long.
// A client that leaves interrupts its cell: nobody waits for it any more.
void execute_cell(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  auto spec = execute_spec(req);
  if (!spec) return send_error(out, spec.error());
  auto exec = bus.start_code(sandbox, *spec);
  if (!exec) return send_code_error(out, exec.error());
  if (!out.start(200, kNdjson)) return;
  StreamClock clock("", kKeepaliveMs, 1000);
  bool client_gone = false;
  std::string pending;
  auto on_event = [&](const client::CodeEventData& e) { pending += json_text(event_line(e)) + "\n"; };
  auto flush = [&] {
    if (!pending.empty() && !client_gone && !out.write(pending)) client_gone = true;
    pending.clear();
  };
  for (bool first = true;; first = false) {
    auto result = (*exec)->wait(first ? 50 : clock.wait_ms(), on_event, first ? std::function<void()>() : flush);
    if (result) {
      if (!result->artifacts.empty()) pending += json_text(artifacts_line(result->artifacts)) + "\n";
      pending += R"({"type":"end_of_execution"})"
                 "\n";
      return out.finish_with(pending);
    }
    if (result.error().code != ErrorCode::timeout) {
      flush();
      out.write(
          json_text(
              json{{"type", "error"}, {"name", "SandboxError"}, {"value", result.error().message}, {"traceback", ""}}) +
          "\n");
      return out.abort();  // the SDK sees a cut stream, not a finished cell
    }
    flush();
    if (client_gone || out.client_gone()) {
      (void)bus.interrupt_context(sandbox, (*exec)->context_id());
      return out.finish();
    }
    if (clock.keepalive_due() && !out.write(R"({"type":"keepalive"})"
                                            "\n"))
      client_gone = true;
  }
}

namespace {

json context_json(const client::CodeContextInfo& c) {
  return json{{"id", c.id},
              {"language", c.language},
              {"cwd", c.cwd},
              {"is_default", c.is_default},
              {"ready", c.ready},
              {"busy", c.busy},
              {"execution_count", c.execution_count}};
}

}  // namespace

void create_context(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  auto body = object_body(req);
  if (!body) return send_error(out, body.error());
  client::CodeContextSpec spec;
  if (!optional_string(*body, "language", spec.language) || !optional_string(*body, "cwd", spec.cwd))
    return send_error(out, 400, "language and cwd must be strings");
  auto made = bus.create_context(sandbox, spec);
  if (!made) return send_code_error(out, made.error());
  out.send(200, kJson, json_text(context_json(*made)));
}

void list_contexts(client::Client& bus, ResponseWriter& out, const std::string& sandbox) {
  auto listed = bus.contexts(sandbox);
  if (!listed) return send_code_error(out, listed.error());
  json list = json::array();
  for (const auto& c : *listed) list.push_back(context_json(c));
  out.send(200, kJson, json_text(list));
}

void remove_context(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& id) {
  if (auto removed = bus.remove_context(sandbox, id); !removed) return send_code_error(out, removed.error());
  out.send(204, "", "");
}

void restart_context(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& id) {
  auto restarted = bus.restart_context(sandbox, id);
  if (!restarted) return send_code_error(out, restarted.error());
  out.send(200, kJson, json_text(context_json(*restarted)));
}

void interrupt_context(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& id) {
  if (auto stopped = bus.interrupt_context(sandbox, id); !stopped) return send_code_error(out, stopped.error());
  out.send(200, kJson, "{}");
}

}  // namespace soulbox::gateway
