#include "gateway/envd_process.h"

#include <csignal>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json_fields.h"
#include "gateway/connect_frame.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/json_text.h"
#include "gateway/stream_clock.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;
constexpr const char* kJson = "application/json";
constexpr const char* kConnectJson = "application/connect+json";

void rpc_error(ResponseWriter& out, const Error& e) {
  out.send(http_status(e.code), kJson, connect_error_body(e));
}

// The events of a started or attached process as a Connect stream: start,
// output as it comes, keepalives, the end, and the end-of-stream frame. A
// client that leaves ends the stream, not the process.
void stream_process(client::Execution& exec, const HttpRequest& req, ResponseWriter& out) {
  if (!out.start(200, kConnectJson)) return;
  out.write(connect_frame(json_text(json{{"event", {{"start", {{"pid", exec.pid()}}}}}})));
  StreamClock clock(req.header("connect-timeout-ms"));
  exec.keep_output(false);  // everything goes to the client as it comes
  uint64_t dropped_told = 0;
  bool client_gone = false;
  auto send_data = [&](const char* name, const std::string& data) {
    if (!out.write(connect_frame(json_text(json{{"event", {{"data", {{name, base64_encode(data)}}}}}}))))
      client_gone = true;
  };
  // Said where the reader looks: the output has a gap here.
  auto tell_dropped = [&] {
    const uint64_t dropped = exec.dropped_output_bytes();
    if (dropped == dropped_told) return;
    send_data("stderr", "\n[soulbox: " + std::to_string(dropped - dropped_told) +
                            " bytes of output dropped: they came faster than they were read]\n");
    dropped_told = dropped;
  };
  auto on_output = [&](agentproto::Stream stream, const std::string& data) {
    tell_dropped();
    send_data(stream == agentproto::Stream::Pty      ? "pty"
              : stream == agentproto::Stream::Stderr ? "stderr"
                                                     : "stdout",
              data);
  };
  for (;;) {
    auto result = exec.wait(clock.wait_ms(), on_output);
    if (client_gone) return out.finish();
    tell_dropped();
    if (result) {
      json end{{"exitCode", result->exit_code},
               {"exited", result->signal == 0},
               {"status", result->signal ? "signal: " + std::to_string(result->signal)
                                         : "exit status " + std::to_string(result->exit_code)}};
      if (result->exit_code != 0) end["error"] = end["status"];
      out.write(connect_frame(json_text(json{{"event", {{"end", end}}}})));
      out.write(connect_end());
      return out.finish();
    }
    if (result.error().code != ErrorCode::timeout) {
      out.write(connect_end(&result.error()));
      return out.finish();
    }
    if (clock.deadline_passed()) {
      const Error late{ErrorCode::timeout, "the stream's deadline passed"};
      out.write(connect_end(&late));
      return out.finish();
    }
    if (out.client_gone()) return out.finish();
    if (clock.keepalive_due() && !out.write(connect_frame(R"({"event":{"keepalive":{}}})"))) return out.finish();
  }
}

// {"pty": {"size": {"rows": R, "cols": C}}} in a request (24 x 80 unless it says).
Result<std::pair<uint16_t, uint16_t>> pty_size(const json& request) {
  uint16_t rows = 24, cols = 80;
  JsonFields outer(request, "body");
  const json* pty = outer.object("pty");
  if (!outer.ok()) return outer.status(ErrorCode::invalid_argument).error();
  if (!pty) return std::make_pair(rows, cols);
  JsonFields middle(*pty, "pty");
  const json* size = middle.object("size");
  if (!middle.ok()) return middle.status(ErrorCode::invalid_argument).error();
  if (!size) return std::make_pair(rows, cols);
  JsonFields dimensions(*size, "pty.size");
  dimensions.read("rows", rows);
  dimensions.read("cols", cols);
  if (!dimensions.ok()) return dimensions.status(ErrorCode::invalid_argument).error();
  return std::make_pair(rows, cols);
}

}  // namespace

void process_start(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  auto fail = [&](const Error& e) { fail_stream(out, e); };
  auto request = stream_request(req.body, "Start");
  if (!request) return fail(request.error());
  const json& start = *request;
  if (!start.contains("process") || !start["process"].is_object())
    return fail(Error{ErrorCode::invalid_argument, "Start needs a process"});
  ProcessSpec spec;
  std::string cmd;
  std::vector<std::string> args;
  JsonFields process(start["process"], "process");
  process.read("cmd", cmd);
  process.read("args", args);
  process.read("cwd", spec.cwd);
  const json* envs = process.object("envs");
  if (!process.ok()) return fail(process.status(ErrorCode::invalid_argument).error());
  JsonFields fields(start, "Start");
  fields.read("stdin", spec.stdin_open);
  fields.read("tag", spec.tag);
  if (!fields.ok()) return fail(fields.status(ErrorCode::invalid_argument).error());
  if (cmd.empty()) return fail(Error{ErrorCode::invalid_argument, "process.cmd is empty"});
  spec.argv.push_back(cmd);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  if (envs)
    for (auto it = envs->begin(); it != envs->end(); ++it)
      if (it.value().is_string()) spec.env.push_back(it.key() + "=" + it.value().get<std::string>());
  if (start.contains("pty") && start["pty"].is_object()) {
    auto size = pty_size(start);
    if (!size) return fail(size.error());
    spec.pty = *size;
  }
  auto exec = bus.start(sandbox, spec);
  if (!exec) return fail(about_sandbox(exec.error(), sandbox));
  stream_process(**exec, req, out);
}

namespace {

// {"process":{"pid":N}} or {"process":{"tag":"t"}} -> the pid.
Result<int> selected_pid(client::Client& bus, const std::string& sandbox, const json& body) {
  const json sel = body.value("process", json::object());
  if (sel.contains("pid") && sel["pid"].is_number_unsigned()) return int(sel["pid"].get<uint32_t>());
  if (sel.contains("tag") && sel["tag"].is_string()) {
    auto list = bus.processes(sandbox);
    if (!list) return list.error();
    for (const auto& p : *list)
      if (p.tag == sel["tag"].get<std::string>()) return p.pid;
    return Error{ErrorCode::not_found, "no process tagged '" + sel["tag"].get<std::string>() + "'"};
  }
  return Error{ErrorCode::invalid_argument, "process selector needs a pid or a tag"};
}

Result<int> signal_number(const json& v) {
  if (v.is_number_integer()) return v.get<int>();
  if (v == "SIGNAL_SIGKILL") return SIGKILL;
  if (v == "SIGNAL_SIGTERM") return SIGTERM;
  return Error{ErrorCode::invalid_argument, "signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM"};
}

// The body of a unary RPC: a JSON object, else answered as an error (nullopt).
std::optional<json> unary_body(const HttpRequest& req, ResponseWriter& out) {
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    rpc_error(out, Error{ErrorCode::invalid_argument, "the body is not a JSON object"});
    return std::nullopt;
  }
  return body;
}

// A unary RPC about one process: the body read, its process selected (by
// pid or tag), `act` done with them, and answered.
void on_selected_process(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
                         const std::function<Status(const json& body, int pid)>& act) {
  const auto body = unary_body(req, out);
  if (!body) return;
  auto pid = selected_pid(bus, sandbox, *body);
  if (!pid) return rpc_error(out, pid.error());
  const Status done = act(*body, *pid);
  if (!done) return rpc_error(out, about_sandbox(done.error(), sandbox));
  out.send(200, kJson, "{}");
}

}  // namespace

void process_connect(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  auto fail = [&](const Error& e) { fail_stream(out, e); };
  auto ask = stream_request(req.body, "Connect");
  if (!ask) return fail(ask.error());
  auto pid = selected_pid(bus, sandbox, *ask);
  if (!pid) return fail(about_sandbox(pid.error(), sandbox));
  auto exec = bus.attach(sandbox, *pid);
  if (!exec) return fail(about_sandbox(exec.error(), sandbox));
  stream_process(**exec, req, out);
}

void process_list(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  if (!unary_body(req, out)) return;
  auto procs = bus.processes(sandbox);
  if (!procs) return rpc_error(out, about_sandbox(procs.error(), sandbox));
  json list = json::array();
  for (const auto& p : *procs) {
    if (!p.running) continue;
    json config{{"cmd", p.argv.empty() ? "" : p.argv[0]},
                {"args", std::vector<std::string>(p.argv.begin() + (p.argv.empty() ? 0 : 1), p.argv.end())},
                {"envs", json::object()}};
    json info{{"pid", p.pid}, {"config", config}};
    if (!p.tag.empty()) info["tag"] = p.tag;
    list.push_back(info);
  }
  out.send(200, kJson, json_text(json{{"processes", list}}));
}

void process_send_input(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  on_selected_process(bus, req, out, sandbox, [&](const json& body, int pid) -> Status {
    std::string b64;  // stdin's, else pty's
    JsonFields fields(body, "body");
    if (const json* input = fields.object("input")) {
      JsonFields in(*input, "input");
      in.read("pty", b64);
      in.read("stdin", b64);
      if (!in.ok()) return in.status(ErrorCode::invalid_argument);
    }
    if (!fields.ok()) return fields.status(ErrorCode::invalid_argument);
    auto data = base64_decode(b64);
    if (!data) return data.error();
    return bus.send_stdin(sandbox, pid, *data);
  });
}

void process_close_stdin(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  on_selected_process(bus, req, out, sandbox,
                      [&](const json&, int pid) { return bus.send_stdin(sandbox, pid, "", /*close=*/true); });
}

void process_send_signal(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  on_selected_process(bus, req, out, sandbox, [&](const json& body, int pid) -> Status {
    auto signo = signal_number(body.value("signal", json("SIGNAL_SIGKILL")));
    if (!signo) return signo.error();
    return bus.signal(sandbox, pid, *signo);
  });
}

void process_update(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  on_selected_process(bus, req, out, sandbox, [&](const json& body, int pid) -> Status {
    auto size = pty_size(body);
    if (!size) return size.error();
    return bus.resize(sandbox, pid, size->first, size->second);
  });
}

}  // namespace soulbox::gateway
