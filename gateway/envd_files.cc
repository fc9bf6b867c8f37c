#include "gateway/envd_files.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

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

// The uploaded bytes: the body itself, or when it says gzip its inflation,
// held in `inflated` (a body is not copied: it may be 64 MiB).
Result<const std::string*> upload_body(const HttpRequest& req, std::string& inflated) {
  const std::string encoding = req.header("content-encoding");
  if (encoding == "gzip") {
    auto body = gunzip(req.body, kMaxInflatedBytes);
    if (!body) return body.error();
    inflated = std::move(*body);
    return &inflated;
  }
  if (!encoding.empty() && encoding != "identity")
    return Error{ErrorCode::invalid_argument, "Content-Encoding must be gzip or identity"};
  return &req.body;
}

using FileWrites = std::vector<std::pair<std::string, std::string>>;  // path, data

// Fills `files` with what an upload writes, or says why nothing (an out
// parameter: returning the vector through Result would copy the data).
// Multipart: a part's filename is its path, except that one part goes to
// `path` when the query names one (as E2B's envd does). `signed_upload`:
// the URL's signature covers `path` alone, so exactly one file is written,
// to `path`: a second part would be a file the signature never named.
Status files_to_write(const HttpRequest& req, const std::string& body, const std::string& user, bool signed_upload,
                      FileWrites& files) {
  const std::string path_param = req.query_param("path");
  if (signed_upload && path_param.empty())
    return Error{ErrorCode::invalid_argument, "a signed upload URL must name its path: it writes that one file"};
  if (req.header("content-type").rfind("multipart/form-data", 0) != 0) {
    if (path_param.empty()) return Error{ErrorCode::invalid_argument, "path is required"};
    files.emplace_back(in_home(user, path_param), body);
    return {};
  }
  auto parts = parse_multipart(req.header("content-type"), body);
  if (!parts) return parts.error();
  if (signed_upload && parts->size() != 1)
    return Error{ErrorCode::invalid_argument, "a signed upload URL writes one file, to its path; this upload has " +
                                                  std::to_string(parts->size()) + " parts"};
  for (auto& p : *parts) {
    const std::string path = !path_param.empty() && parts->size() == 1 ? path_param : p.filename;
    if (path.empty()) return Error{ErrorCode::invalid_argument, "a part names no path"};
    files.emplace_back(in_home(user, path), std::move(p.data));
  }
  if (files.empty()) return Error{ErrorCode::invalid_argument, "no file in the upload"};
  return {};
}

void upload(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
            const std::string& user, bool signed_upload) {
  std::string inflated;
  auto body = upload_body(req, inflated);
  if (!body) return file_error(out, body.error());
  FileWrites files;
  if (auto ok = files_to_write(req, **body, user, signed_upload, files); !ok) return file_error(out, ok.error());
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
                 const std::string& sandbox, FileAuth auth) {
  const auto u = req.query.find("username");
  const std::string user = u == req.query.end() || u->second.empty() ? "user" : u->second;
  if (user != "user" && user != "root")
    return file_error(out, Error{ErrorCode::permission_denied, "unknown user '" + user + "'"});
  const std::string path = req.query_param("path");
  const bool write = req.method == "POST";
  if (!write && req.method != "GET") return out.send(405, kJson, error_body(405, "GET or POST /files"));
  const std::string operation = write ? "write" : "read";
  const Status allowed = auth == FileAuth::access_token    ? Status{}
                         : auth == FileAuth::e2b_signature ? urls.check_e2b(req, sandbox, path, operation)
                                                           : urls.check(req, sandbox, path, operation);
  if (!allowed) {
    const bool denied = allowed.error().code == ErrorCode::permission_denied;
    return out.send(denied ? 401 : http_status(allowed.error().code), kJson,
                    error_body(denied ? 401 : http_status(allowed.error().code), allowed.error().message));
  }
  if (write) return upload(bus, req, out, sandbox, user, /*signed_upload=*/auth != FileAuth::access_token);
  if (path.empty()) return file_error(out, Error{ErrorCode::invalid_argument, "path is required"});
  download(bus, out, sandbox, in_home(user, path), user);
}

namespace {

// What a unary filesystem RPC asks: its user's paths, resolved against the
// user's home.
struct FsRequest {
  std::string path, source, destination;
  uint32_t depth = 1;
};

// The request's body read, or answered as an error (nullopt).
std::optional<FsRequest> fs_request(const HttpRequest& req, ResponseWriter& out) {
  const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    rpc_error(out, Error{ErrorCode::invalid_argument, "the body is not a JSON object"});
    return std::nullopt;
  }
  const std::string user = rpc_user(req.header("authorization"));
  std::string path, source, destination;
  FsRequest r;
  JsonFields fields(body, "body");
  fields.read("path", path);
  fields.read("depth", r.depth);
  fields.read("source", source);
  fields.read("destination", destination);
  if (!fields.ok()) {
    rpc_error(out, fields.status(ErrorCode::invalid_argument).error());
    return std::nullopt;
  }
  r.path = in_home(user, path);
  r.source = in_home(user, source);
  r.destination = in_home(user, destination);
  return r;
}

void entry_reply(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& path) {
  auto st = bus.stat(sandbox, path);
  if (!st) return rpc_error(out, st.error());
  out.send(200, kJson, json_text(json{{"entry", entry_json(*st)}}));
}

}  // namespace

void fs_stat(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  if (auto r = fs_request(req, out)) entry_reply(bus, out, sandbox, r->path);
}

void fs_list_dir(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  const auto r = fs_request(req, out);
  if (!r) return;
  auto entries = bus.list_dir(sandbox, r->path, r->depth ? r->depth : 1);
  if (!entries) return rpc_error(out, entries.error());
  json list = json::array();
  for (const auto& e : *entries)
    if (e.type != agentproto::FileType::Other) list.push_back(entry_json(e));
  out.send(200, kJson, json_text(json{{"entries", list}}));
}

void fs_make_dir(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  const auto r = fs_request(req, out);
  if (!r) return;
  if (bus.stat(sandbox, r->path).ok())
    return rpc_error(out, Error{ErrorCode::already_exists, r->path + " already exists"});
  if (auto made = bus.make_dir(sandbox, r->path); !made) return rpc_error(out, made.error());
  entry_reply(bus, out, sandbox, r->path);
}

void fs_move(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  const auto r = fs_request(req, out);
  if (!r) return;
  if (auto moved = bus.rename(sandbox, r->source, r->destination); !moved) return rpc_error(out, moved.error());
  entry_reply(bus, out, sandbox, r->destination);
}

void fs_remove(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox) {
  const auto r = fs_request(req, out);
  if (!r) return;
  if (auto removed = bus.remove(sandbox, r->path, /*recursive=*/true); !removed) return rpc_error(out, removed.error());
  out.send(200, kJson, "{}");
}

}  // namespace soulbox::gateway
