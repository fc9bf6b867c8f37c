#include "gateway/envd_files.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/gzip.h"
#include "gateway/json_text.h"
#include "gateway/multipart.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;
constexpr const char* kJson = "application/json";
constexpr size_t kMaxInflatedBytes = 256u << 20;  // a gzip upload's size once inflated

void file_error(ResponseWriter& out, const Error& e) {
  const int status = http_status(e.code);
  out.send(status, kJson, error_body(status, e.message));
}

void rpc_error(ResponseWriter& out, const Error& e) {
  out.send(http_status(e.code), kJson, connect_error_body(e));
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void upload(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
            const std::string& user) {
  const std::string encoding = req.header("content-encoding");
  std::string inflated;
  if (encoding == "gzip") {
    auto body = gunzip(req.body, kMaxInflatedBytes);
    if (!body) return file_error(out, body.error());
    inflated = std::move(*body);
  } else if (!encoding.empty() && encoding != "identity") {
    return file_error(out, Error{ErrorCode::invalid_argument, "Content-Encoding must be gzip or identity"});
  }
  const std::string& body = encoding == "gzip" ? inflated : req.body;
  std::vector<std::pair<std::string, std::string>> files;  // path, data
  const auto path_param = req.query.find("path");
  if (req.header("content-type").rfind("multipart/form-data", 0) == 0) {
    auto parts = parse_multipart(req.header("content-type"), body);
    if (!parts) return file_error(out, parts.error());
    for (auto& p : *parts) {
      const std::string path = path_param != req.query.end() && parts->size() == 1 ? path_param->second : p.filename;
      if (path.empty()) return file_error(out, Error{ErrorCode::invalid_argument, "a part names no path"});
      files.emplace_back(in_home(user, path), std::move(p.data));
    }
  } else {
    if (path_param == req.query.end() || path_param->second.empty())
      return file_error(out, Error{ErrorCode::invalid_argument, "path is required"});
    files.emplace_back(in_home(user, path_param->second), body);
  }
  if (files.empty()) return file_error(out, Error{ErrorCode::invalid_argument, "no file in the upload"});
  json written = json::array();
  for (const auto& [path, data] : files) {
    if (auto st = bus.write_file(sandbox, path, data, 0644, user); !st) return file_error(out, st.error());
    written.push_back({{"path", path}, {"name", base_name(path)}, {"type", "file"}});
  }
  out.send(200, kJson, json_text(written));
}

// Small files in one answer; larger ones streamed in bus-sized parts so the
// gateway holds one part at a time.
void download(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& path,
              const std::string& user) {
  constexpr uint64_t kPart = client::Client::kUploadPartBytes;
  auto first = bus.read_range(sandbox, path, 0, kPart, user);
  if (!first) return file_error(out, first.error());
  if (first->size() < kPart) return out.send(200, "application/octet-stream", *first);
  if (!out.start(200, "application/octet-stream") || !out.write(*first)) return out.finish();
  for (uint64_t offset = kPart;; offset += kPart) {
    auto part = bus.read_range(sandbox, path, offset, kPart, user);
    if (!part) return out.abort();  // the head is sent: a cut stream is all that can tell
    if (!part->empty() && !out.write(*part)) break;
    if (part->size() < kPart) break;
  }
  out.finish();
}

}  // namespace

void serve_files(client::Client& bus, const SignedUrls& urls, const HttpRequest& req, ResponseWriter& out,
                 const std::string& sandbox, bool token_ok) {
  const auto u = req.query.find("username");
  const std::string user = u == req.query.end() || u->second.empty() ? "user" : u->second;
  if (user != "user" && user != "root")
    return file_error(out, Error{ErrorCode::permission_denied, "unknown user '" + user + "'"});
  const auto p = req.query.find("path");
  const std::string path = p == req.query.end() ? "" : p->second;
  const bool write = req.method == "POST";
  if (!write && req.method != "GET") return out.send(405, kJson, error_body(405, "GET or POST /files"));
  if (!token_ok)
    if (auto signed_ok = urls.check(req, sandbox, path, write ? "write" : "read"); !signed_ok)
      return out.send(
          signed_ok.error().code == ErrorCode::permission_denied ? 401 : http_status(signed_ok.error().code), kJson,
          error_body(401, signed_ok.error().message));
  if (write) return upload(bus, req, out, sandbox, user);
  if (path.empty()) return file_error(out, Error{ErrorCode::invalid_argument, "path is required"});
  download(bus, out, sandbox, in_home(user, path), user);
}

void serve_filesystem_rpc(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
                          const std::string& method) {
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return rpc_error(out, Error{ErrorCode::invalid_argument, "the body is not a JSON object"});
  const std::string user = rpc_user(req.header("authorization"));
  std::string path_field, source, destination;
  uint32_t depth = 1;
  JsonFields fields(body, "body");
  fields.read("path", path_field);
  fields.read("depth", depth);
  fields.read("source", source);
  fields.read("destination", destination);
  if (!fields.ok()) return rpc_error(out, fields.status(ErrorCode::invalid_argument).error());
  const std::string path = in_home(user, path_field);
  auto entry_reply = [&](const std::string& of) {
    auto st = bus.stat(sandbox, of);
    if (!st) return rpc_error(out, st.error());
    out.send(200, kJson, json_text(json{{"entry", entry_json(*st)}}));
  };
  if (method == "Stat") return entry_reply(path);
  if (method == "ListDir") {
    auto entries = bus.list_dir(sandbox, path, depth ? depth : 1);
    if (!entries) return rpc_error(out, entries.error());
    json list = json::array();
    for (const auto& e : *entries)
      if (e.type != agentproto::FileType::Other) list.push_back(entry_json(e));
    return out.send(200, kJson, json_text(json{{"entries", list}}));
  }
  if (method == "MakeDir") {
    if (bus.stat(sandbox, path).ok()) return rpc_error(out, Error{ErrorCode::already_exists, path + " already exists"});
    if (auto made = bus.make_dir(sandbox, path); !made) return rpc_error(out, made.error());
    return entry_reply(path);
  }
  if (method == "Move") {
    const std::string to = in_home(user, destination);
    if (auto moved = bus.rename(sandbox, in_home(user, source), to); !moved) return rpc_error(out, moved.error());
    return entry_reply(to);
  }
  if (method == "Remove") {
    if (auto removed = bus.remove(sandbox, path, /*recursive=*/true); !removed) return rpc_error(out, removed.error());
    return out.send(200, kJson, "{}");
  }
  rpc_error(out, Error{ErrorCode::invalid_argument, "filesystem.Filesystem/" + method + " is not served"});
}

}  // namespace soulbox::gateway
