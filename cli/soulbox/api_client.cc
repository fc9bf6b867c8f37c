#include "cli/soulbox/api_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <limits>

#include "common/percent_encode.h"

namespace soulbox::cli {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

namespace {

std::string error_message(int status, const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  const std::string message = j.is_object() && j.contains("message") && j["message"].is_string()
                                  ? j["message"].get<std::string>()
                                  : body.substr(0, 300);
  return "HTTP " + std::to_string(status) + ": " + message;
}

ErrorCode code_for(int status) {
  switch (status) {
    case 400:
      return ErrorCode::invalid_argument;
    case 401:
    case 403:
      return ErrorCode::permission_denied;
    case 404:
      return ErrorCode::not_found;
    case 409:
      return ErrorCode::already_exists;
    case 429:
      return ErrorCode::resource_exhausted;
    default:
      return status >= 500 ? ErrorCode::unavailable : ErrorCode::internal;
  }
}

// /files?path=<percent-encoded path>
std::string files_target(const std::string& path) {
  return "/files?path=" + percent_encode(path);
}

std::string envelope(const std::string& text) {
  std::string out(5, '\0');
  for (int i = 0; i < 4; ++i) out[1 + i] = char((text.size() >> (24 - 8 * i)) & 0xff);
  return out + text;
}

}  // namespace

struct ApiClient::Connection {
  boost::asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

ApiClient::ApiClient(ApiConfig config) : config_(std::move(config)) {
  std::string rest = config_.api_url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  host_ = colon == std::string::npos ? rest : rest.substr(0, colon);
  port_ = colon == std::string::npos ? 80 : uint16_t(std::atoi(rest.c_str() + colon + 1));
}

ApiClient::~ApiClient() = default;

Result<std::string> ApiClient::request(const std::string& method, const std::string& target,
                                       const std::map<std::string, std::string>& headers, const std::string& body,
                                       int* status, const Progress& progress) {
  if (config_.api_url.rfind("https://", 0) == 0)
    return Error{ErrorCode::invalid_argument, "https URLs are not supported by the CLI yet; use http://"};
  if (config_.verbose) std::cerr << "> " << method << " " << config_.api_url << target << "\n";
  try {
    if (!conn_) {
      conn_ = std::make_unique<Connection>();
      tcp::resolver resolver(conn_->io);
      conn_->stream.connect(resolver.resolve(host_, std::to_string(port_)));
    }
    http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "soulbox-cli");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.content_length(body.size());
    http::request_serializer<http::empty_body> head{req};
    http::write_header(conn_->stream, head);
    for (size_t sent = 0; sent < body.size();) {  // in pieces, for progress
      const size_t n = std::min<size_t>(256 << 10, body.size() - sent);
      boost::asio::write(conn_->stream.socket(), boost::asio::buffer(body.data() + sent, n));
      sent += n;
      if (progress) progress(sent, body.size());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(uint64_t(4) << 30);
    http::read_header(conn_->stream, conn_->buffer, parser);
    const uint64_t total = parser.content_length().value_or(0);
    while (!parser.is_done()) {
      http::read_some(conn_->stream, conn_->buffer, parser);
      if (progress && method == "GET") progress(parser.get().body().size(), total);
    }
    auto res = parser.release();
    *status = res.result_int();
    last_headers_.clear();
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (auto& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      last_headers_[name] = std::string(field.value());
    }
    if (config_.verbose) std::cerr << "< " << *status << " (" << res.body().size() << " bytes)\n";
    if (!res.keep_alive()) conn_.reset();
    return std::move(res.body());
  } catch (const std::exception& e) {
    conn_.reset();
    return Error{ErrorCode::unavailable, "cannot reach SoulBox at " + config_.api_url + ": " + e.what()};
  }
}

Result<json> ApiClient::call(const std::string& method, const std::string& target, const json& body) {
  std::map<std::string, std::string> headers{{"X-API-Key", config_.api_key}};
  if (!body.is_null()) headers["Content-Type"] = "application/json";
  int status = 0;
  auto text = request(method, target, headers, body.is_null() ? "" : body.dump(), &status);
  if (!text) return text.error();
  if (status >= 400) return Error{code_for(status), error_message(status, *text)};
  if (text->empty()) return json(nullptr);
  json parsed = json::parse(*text, nullptr, false);
  if (parsed.is_discarded()) return Error{ErrorCode::protocol_error, "the gateway answered with bad JSON"};
  return parsed;
}

Result<ApiClient::Sandbox> ApiClient::open(const std::string& id) {
  auto made = call("POST", "/sandboxes/" + id + "/connect", json::object());
  if (!made) return made.error();
  return Sandbox{id, made->value("envdAccessToken", "")};
}

std::map<std::string, std::string> ApiClient::envd_headers(const Sandbox& s, const std::string& content_type) const {
  return {{"E2b-Sandbox-Id", s.id},
          {"E2b-Sandbox-Port", "49983"},
          {"X-Access-Token", s.token},
          {"Content-Type", content_type},
          {"Connect-Protocol-Version", "1"}};
}

Result<json> ApiClient::rpc(const Sandbox& s, const std::string& method, const json& message) {
  int status = 0;
  auto text = request("POST", "/" + method, envd_headers(s, "application/json"), message.dump(), &status);
  if (!text) return text.error();
  if (status >= 400) return Error{code_for(status), error_message(status, *text)};
  return json::parse(text->empty() ? "{}" : *text, nullptr, false);
}

Status ApiClient::post_stream(const std::string& target, const std::map<std::string, std::string>& headers,
                              const std::string& body, const StreamConsumer& consume) {
  // A stream holds its connection to the end: its own, so rpc() calls
  // (stdin, resize) can go on meanwhile.
  try {
    Connection c;
    tcp::resolver resolver(c.io);
    c.stream.connect(resolver.resolve(host_, std::to_string(port_)));
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, host_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(c.stream, req);
    http::response_parser<http::buffer_body> parser;
    // No limit, but not boost::none: Boost 1.74's parser compares a
    // Content-Length with the empty optional as "over the limit", so every
    // answer with a length (every error: 404, 401, ...) failed to parse.
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    http::read_header(c.stream, c.buffer, parser);
    const int status = parser.get().result_int();
    std::string pending;
    char chunk[64 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      beast::error_code ec;
      http::read_some(c.stream, c.buffer, parser, ec);
      if (ec && ec != http::error::need_buffer) {
        if (status != 200)  // the answer's status still says what went wrong
          return Error{code_for(status), error_message(status, pending) + " (its body was cut: " + ec.message() + ")"};
        return Error{ErrorCode::unavailable, "stream: " + ec.message()};
      }
      pending.append(chunk, sizeof chunk - parser.get().body().size);
      if (status != 200) continue;  // the error's body, read whole below
      auto more = consume(pending);
      if (!more) return more.error();
      if (!*more) return {};
    }
    if (status != 200) return Error{code_for(status), error_message(status, pending)};
    return Error{ErrorCode::protocol_error, "the stream ended before its end message"};
  } catch (const std::exception& e) {
    return Error{ErrorCode::unavailable, std::string("stream: ") + e.what()};
  }
}

Status ApiClient::stream(const Sandbox& s, const std::string& method, const json& message,
                         const std::function<bool(const json&)>& on_message) {
  return post_stream("/" + method, envd_headers(s, "application/connect+json"), envelope(message.dump()),
                     [&](std::string& pending) -> Result<bool> {
                       while (pending.size() >= 5) {  // Connect envelopes: flags, length, message
                         const uint32_t n = (uint32_t(uint8_t(pending[1])) << 24) |
                                            (uint32_t(uint8_t(pending[2])) << 16) |
                                            (uint32_t(uint8_t(pending[3])) << 8) | uint32_t(uint8_t(pending[4]));
                         if (pending.size() < 5 + n) break;
                         const bool end = pending[0] & 0x02;
                         const json m = json::parse(pending.substr(5, n), nullptr, false);
                         pending.erase(0, 5 + n);
                         if (end) {
                           if (m.is_object() && m.contains("error"))
                             return Error{ErrorCode::internal,
                                          m["error"].value("code", "error") + ": " + m["error"].value("message", "")};
                           return false;
                         }
                         if (!on_message(m)) return false;
                       }
                       return true;
                     });
}

Status ApiClient::execute(const Sandbox& s, const json& body, const std::function<bool(const json&)>& on_line) {
  auto headers = envd_headers(s, "application/json");
  headers["E2b-Sandbox-Port"] = "49999";
  headers.erase("Connect-Protocol-Version");
  return post_stream("/execute", headers, body.dump(), [&](std::string& pending) -> Result<bool> {
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {  // NDJSON
      const json line = json::parse(pending.substr(0, nl), nullptr, false);
      pending.erase(0, nl + 1);
      if (!line.is_object()) return Error{ErrorCode::protocol_error, "a line of the answer is not a JSON object"};
      if (line.value("type", "") == "end_of_execution") return false;
      if (!on_line(line)) return false;
    }
    return true;
  });
}

Status ApiClient::upload(const Sandbox& s, const std::string& path, const std::string& data, const Progress& progress) {
  int status = 0;
  const std::string target = files_target(path);
  auto text = request("POST", target, envd_headers(s, "application/octet-stream"), data, &status, progress);
  if (!text) return text.error();
  if (status >= 400) return Error{code_for(status), error_message(status, *text)};
  return {};
}

Result<std::string> ApiClient::download(const Sandbox& s, const std::string& path, uint64_t size,
                                        const Progress& progress) {
  int status = 0;
  const std::string target = files_target(path);
  // A large file comes streamed (chunked, no length): the size known beforehand is the total.
  Progress against_size;
  if (progress)
    against_size = [&progress, size](uint64_t done, uint64_t total) { progress(done, total ? total : size); };
  auto text = request("GET", target, envd_headers(s, "application/octet-stream"), "", &status, against_size);
  if (!text) return text.error();
  if (status >= 400) return Error{code_for(status), error_message(status, *text)};
  return text;
}

Result<json> ApiClient::stat(const Sandbox& s, const std::string& path) {
  auto got = rpc(s, "filesystem.Filesystem/Stat", json{{"path", path}});
  if (!got) return got.error();
  if (!got->contains("entry") || !(*got)["entry"].is_object())
    return Error{ErrorCode::protocol_error, "Stat answered without an entry"};
  return (*got)["entry"];
}

Status ApiClient::make_dir(const Sandbox& s, const std::string& path) {
  auto made = rpc(s, "filesystem.Filesystem/MakeDir", json{{"path", path}});
  if (!made && made.error().code != ErrorCode::already_exists) return made.error();
  return {};
}

}  // namespace soulbox::cli
