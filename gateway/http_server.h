// A small HTTP/1.1 server (Boost.Beast, the only file that includes it):
// keep-alive, chunked request bodies, a body limit, an idle timeout, TLS
// (with client certificates), and responses either whole or streamed as
// chunks flushed one by one.
//
// Connections are served asynchronously on a few I/O threads (`io_threads`):
// an idle keep-alive connection costs no thread, only its socket and a few
// KiB, up to `max_connections` (beyond it: 503 with Retry-After, or over TLS
// a close). Handlers may block (they wait on the bus, and a stream writes
// for as long as it lasts): each request runs on a pool of handler threads
// that grows on demand up to `max_handler_threads` — a stream holds one for
// its whole life — and requests beyond it wait in a queue of at most
// `max_queued_requests` (beyond it: 503 with Retry-After). How the writer
// reaches the socket from a handler's thread: http_server.cc.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::gateway {

struct HttpRequest {
  std::string method, target, path;  // path: the target before '?', percent-decoded
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string peer;   // address:port
  std::string local;  // the address:port the connection reached here
  bool tls = false;
  // A client certificate the server verified against its client CA (mTLS).
  struct ClientCert {
    std::string common_name, organization;
    std::vector<std::string> units;  // OU entries
  };
  std::optional<ClientCert> client_cert;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  std::string query_param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? "" : it->second;
  }
  // "scheme://host[:port]" the client addressed: its Host (else the
  // address it reached), https over TLS or behind a proxy that says so
  // (X-Forwarded-Proto).
  std::string base_url() const;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual void send(int status, const std::string& content_type, const std::string& body,
                    const std::map<std::string, std::string>& headers = {}) = 0;
  // Streaming: the head now, then chunks each flushed at once; false from
  // write() when the client has gone.
  virtual bool start(int status, const std::string& content_type) = 0;
  virtual bool write(const std::string& chunk) = 0;
  virtual void finish() = 0;
  // The last chunk and the end together (one write).
  virtual void finish_with(const std::string& chunk) {
    write(chunk);
    finish();
  }
  // While streaming: true once the client has closed its side (checked
  // without blocking), so a stream that has nothing to send can stop.
  virtual bool client_gone() { return false; }
  // While streaming: end without the final chunk and close the connection,
  // so the client sees a cut response rather than a whole one.
  virtual void abort() = 0;
};

using HttpHandler = std::function<void(const HttpRequest&, ResponseWriter&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  size_t max_body_bytes = 64 << 20;
  // Open connections; each is a descriptor, so at most three quarters of
  // RLIMIT_NOFILE's soft limit at start, whatever this says.
  int max_connections = 65536;
  // Between requests, and for each read or write: longer and it closes (0: never).
  int idle_timeout_s = 120;
  int io_threads = 0;  // 0: one per core, at most 4
  // Handlers running at once (streams included: each holds a thread), and
  // requests waiting for one.
  int max_handler_threads = 4096;
  size_t max_queued_requests = 65536;
  // TLS when a certificate is given; client certificates are verified
  // against `tls_client_ca_file` when set (required with require_client_cert).
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
  bool require_client_cert = false;
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpHandler handler);
  virtual ~HttpServer() = default;  // stops accepting, closes connections, joins
  virtual uint16_t port() const = 0;
};

// One whole request from its bytes, parsed and converted as the server does
// (same limits); invalid_argument when malformed, cut short or over a limit.
// The server reads from its socket; tests and fuzz/ use this.
Result<HttpRequest> parse_http_request(const std::string& raw, size_t max_body_bytes = 64 << 20);
// "%2Fhome%2Fuser" -> "/home/user" ('+' stays '+'); nullopt-like error on bad escapes.
Result<std::string> percent_decode(const std::string& s);
// A whole-number query parameter from 0 to `max`; `fallback` when absent
// or empty; invalid_argument naming it otherwise.
Result<int64_t> query_number(const HttpRequest& req, const std::string& name, int64_t fallback, int64_t max);
// "a=1&b=x%20y" -> {a: 1, b: "x y"} ('+' is a space; pairs with bad escapes dropped).
std::map<std::string, std::string> parse_query(const std::string& q);

}  // namespace soulbox::gateway
