#include "gateway/envd_watch.h"

#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "gateway/connect_frame.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/json_text.h"
#include "gateway/stream_clock.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;
constexpr const char* kConnectJson = "application/connect+json";

const char* event_type(agentproto::WatchOp op) {
  switch (op) {
    case agentproto::WatchOp::Create:
      return "EVENT_TYPE_CREATE";
    case agentproto::WatchOp::Write:
      return "EVENT_TYPE_WRITE";
    case agentproto::WatchOp::Remove:
      return "EVENT_TYPE_REMOVE";
    case agentproto::WatchOp::Rename:
      return "EVENT_TYPE_RENAME";
    case agentproto::WatchOp::Chmod:
      return "EVENT_TYPE_CHMOD";
  }
  return "EVENT_TYPE_UNSPECIFIED";
}

// "/home/user/dir/a/b.txt" under "/home/user/dir" -> "a/b.txt".
std::string relative_to(const std::string& dir, const std::string& path) {
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
}

}  // namespace

void serve_watch_dir(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  auto fail = [&](const Error& e) { fail_stream(out, e); };
  auto request = stream_request(req.body, "WatchDir");
  if (!request) return fail(request.error());
  const json& ask = *request;
  if (!ask.contains("path") || !ask["path"].is_string())
    return fail(Error{ErrorCode::invalid_argument, "WatchDir needs a path"});
  const std::string dir = in_home(rpc_user(req.header("authorization")), ask["path"].get<std::string>());
  bool with_entry = false, recursive = false;
  JsonFields fields(ask, "WatchDir");
  fields.read("includeEntry", with_entry);
  fields.read("recursive", recursive);
  if (!fields.ok()) return fail(fields.status(ErrorCode::invalid_argument).error());
  auto watch = bus.watch(sandbox, dir, recursive);
  if (!watch) return fail(about_sandbox(watch.error(), sandbox));
  const uint32_t watch_id = (*watch)->id();
  auto stop = [&] { (void)bus.unwatch(sandbox, watch_id); };
  if (!out.start(200, kConnectJson) || !out.write(connect_frame(R"({"start":{}})"))) return stop();
  StreamClock clock(req.header("connect-timeout-ms"));
  for (;;) {
    auto event = (*watch)->next(clock.wait_ms());
    if (event) {
      json fs{{"name", relative_to(dir, event->first)}, {"type", event_type(event->second)}};
      if (with_entry && event->second != agentproto::WatchOp::Remove)
        if (auto st = bus.stat(sandbox, event->first)) fs["entry"] = entry_json(*st);
      if (!out.write(connect_frame(json_text(json{{"filesystem", fs}})))) return stop();
      continue;
    }
    if (event.error().code != ErrorCode::timeout) {
      out.write(connect_end(&event.error()));
      break;
    }
    if (clock.deadline_passed()) {  // the client's deadline: the stream ends cleanly
      out.write(connect_end());
      break;
    }
    if (out.client_gone()) return stop();
    if (clock.keepalive_due() && !out.write(connect_frame(R"({"keepalive":{}})"))) return stop();
  }
  out.finish();
  stop();
}

}  // namespace soulbox::gateway
