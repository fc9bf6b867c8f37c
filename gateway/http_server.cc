#include "gateway/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.h"

namespace soulbox::gateway {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The server's limits on what one request may be.
void set_limits(http::request_parser<http::string_body>& parser, size_t max_body_bytes) {
  parser.body_limit(max_body_bytes);
  parser.header_limit(16 * 1024);
}

// What handlers see of a parsed request.
HttpRequest request_of(http::request<http::string_body>& req, const std::string& peer) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const auto q = r.target.find('?');
  auto path = percent_decode(r.target.substr(0, q));
  r.path = path ? *path : r.target.substr(0, q);
  if (q != std::string::npos) r.query = parse_query(r.target.substr(q + 1));
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  r.body = std::move(req.body());
  r.peer = peer;
  return r;
}

template <class Stream>
class Writer final : public ResponseWriter {
 public:
  Writer(Stream& socket, unsigned version, bool keep_alive)
      : socket_(socket), version_(version), keep_alive_(keep_alive) {}

  void send(int status, const std::string& content_type, const std::string& body,
            const std::map<std::string, std::string>& headers = {}) override {
    http::response<http::string_body> res{http::status(status), version_};
    res.set(http::field::server, "soulbox-gateway");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
    res.body() = body;
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket_, res, ec);
    ok_ = !ec;
    done_ = true;
  }

  // The head waits for the first chunk and leaves with it: one packet, one
  // wake-up of the client instead of two (every stream writes at once).
  bool start(int status, const std::string& content_type) override {
    http::response<http::empty_body> res{http::status(status), version_};
    res.set(http::field::server, "soulbox-gateway");
    res.set(http::field::content_type, content_type);
    res.keep_alive(keep_alive_);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    while (!ec && !sr.is_header_done()) {
      sr.next(ec, [&](beast::error_code&, const auto& buffers) {
        head_ += beast::buffers_to_string(buffers);
        sr.consume(beast::buffer_bytes(buffers));
      });
    }
    streaming_ = true;
    ok_ = !ec;
    return ok_;
  }

  bool write(const std::string& chunk) override {
    if (!ok_ || chunk.empty()) return ok_;
    beast::error_code ec;
    asio::write(socket_, beast::buffers_cat(asio::buffer(head_), http::make_chunk(asio::buffer(chunk))), ec);
    head_.clear();
    ok_ = !ec;
    return ok_;
  }

  void finish() override { finish_with(""); }

  void finish_with(const std::string& chunk) override {
    if (ok_) {
      beast::error_code ec;
      if (chunk.empty())
        asio::write(socket_, beast::buffers_cat(asio::buffer(head_), http::make_chunk_last()), ec);
      else
        asio::write(
            socket_,
            beast::buffers_cat(asio::buffer(head_), http::make_chunk(asio::buffer(chunk)), http::make_chunk_last()),
            ec);
      head_.clear();
      ok_ = !ec;
    }
    done_ = true;
  }

  void abort() override {
    ok_ = false;
    done_ = true;
  }

  bool client_gone() override {
    if (!ok_) return true;
    // A closed peer reads as readable-with-hangup; pending request bytes
    // (a pipelined next request) do not count.
    pollfd p{beast::get_lowest_layer(socket_).native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  bool done() const { return done_; }
  bool ok() const { return ok_; }

 private:
  Stream& socket_;
  unsigned version_;
  bool keep_alive_;
  bool streaming_ = false, done_ = false, ok_ = true;
  std::string head_;  // a started stream's head, until its first chunk
};

// The server's TLS context: its certificate, and client certificates
// verified against a CA when one is configured.
Result<std::unique_ptr<asio::ssl::context>> tls_context(const HttpServerOptions& o) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  ctx->use_certificate_chain_file(o.tls_cert_file, ec);
  if (!ec)
    ctx->use_private_key_file(o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return Error{ErrorCode::invalid_argument, "TLS certificate or key: " + ec.message()};
  if (!o.tls_client_ca_file.empty()) {
    ctx->load_verify_file(o.tls_client_ca_file, ec);
    if (ec) return Error{ErrorCode::invalid_argument, "TLS client CA " + o.tls_client_ca_file + ": " + ec.message()};
    ctx->set_verify_mode(asio::ssl::verify_peer |
                         (o.require_client_cert ? asio::ssl::verify_fail_if_no_peer_cert : asio::ssl::verify_none));
  } else if (o.require_client_cert) {
    return Error{ErrorCode::invalid_argument, "requiring client certificates needs a client CA"};
  }
  return ctx;
}

// The subject of the client certificate the handshake verified, if any.
std::optional<HttpRequest::ClientCert> verified_client_cert(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return std::nullopt;
  std::unique_ptr<X509, decltype(&X509_free)> owned(cert, X509_free);
  if (SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  HttpRequest::ClientCert out;
  const X509_NAME* name = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
    const std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                            size_t(ASN1_STRING_length(data)));
    switch (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry))) {
      case NID_commonName:
        out.common_name = value;
        break;
      case NID_organizationName:
        out.organization = value;
        break;
      case NID_organizationalUnitName:
        out.units.push_back(value);
        break;
      default:
        break;
    }
  }
  return out;
}

class BeastServer final : public HttpServer {
 public:
  BeastServer(HttpServerOptions o, HttpHandler h) : options_(std::move(o)), handler_(std::move(h)), acceptor_(io_) {}

  ~BeastServer() override {
    stopping_ = true;
    // A blocking accept() is not woken by close() from another thread;
    // shutdown() of the listening socket is (it returns EINVAL).
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::unique_lock<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    cv_.wait(lock, [&] { return connections_ == 0; });
  }

  Status listen() {
    if (!options_.tls_cert_file.empty()) {
      auto ctx = tls_context(options_);
      if (!ctx) return ctx.error();
      tls_ = std::move(*ctx);
    }
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Error{ErrorCode::invalid_argument, "listen address " + options_.host + ": " + ec.message()};
    const tcp::endpoint endpoint{address, options_.port};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return Error{ErrorCode::unavailable,
                   "listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message()};
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
    return {};
  }

  uint16_t port() const override { return port_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) {
        if (stopping_) return;
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      if (connections_ >= options_.max_connections) {
        lock.unlock();
        if (!tls_) refuse_busy(socket);  // over TLS, closing is all that can be said before a handshake
        continue;
      }
      ++connections_;
      open_fds_.insert(socket.native_handle());
      lock.unlock();
      std::thread([this, s = std::move(socket)]() mutable { serve(std::move(s)); }).detach();
    }
  }

  static void refuse_busy(tcp::socket& socket) {
    http::response<http::string_body> res{http::status::service_unavailable, 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::retry_after, "1");
    res.body() = R"({"code":503,"message":"too many connections; retry"})";
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket, res, ec);
  }

  void serve(tcp::socket socket) {
    const int fd = socket.native_handle();
    timeval tv{options_.idle_timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    // Streams are many small writes (each event a chunk): without this,
    // Nagle holds the last ones for the peer's delayed ACK (~40 ms).
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? "" : remote.address().to_string() + ":" + std::to_string(remote.port());
    if (tls_) {
      beast::ssl_stream<tcp::socket> stream(std::move(socket), *tls_);
      stream.handshake(asio::ssl::stream_base::server, ec);  // an untrusted client certificate ends here
      if (!ec) serve_http(stream, peer, verified_client_cert(stream.native_handle()));
      beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_both, ec);
    } else {
      serve_http(socket, peer, std::nullopt);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(fd);
    --connections_;
    cv_.notify_all();
  }

  // Requests on one connection, answered in order until it closes.
  template <class Stream>
  void serve_http(Stream& stream, const std::string& peer, const std::optional<HttpRequest::ClientCert>& cert) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      set_limits(parser, options_.max_body_bytes);
      http::read(stream, buffer, parser, ec);
      if (ec == http::error::body_limit) {
        Writer<Stream>(stream, 11, false)
            .send(413, "application/json", R"({"code":413,"message":"request body too large"})");
        return;
      }
      if (ec) {
        if (ec != http::error::end_of_stream && ec != asio::error::connection_reset && ec != asio::error::eof &&
            ec != asio::error::would_block && ec != asio::error::try_again && ec != asio::ssl::error::stream_truncated)
          Writer<Stream>(stream, 11, false)
              .send(400, "application/json", R"({"code":400,"message":"malformed HTTP request"})");
        return;
      }
      auto& req = parser.get();
      HttpRequest r = request_of(req, peer);
      r.client_cert = cert;
      Writer<Stream> writer(stream, req.version(), req.keep_alive());
      try {
        handler_(r, writer);
      } catch (const std::exception& e) {
        logger("gateway")->error("{} {}: {}", r.method, r.path, e.what());
        if (!writer.done()) writer.send(500, "application/json", R"({"code":500,"message":"internal error"})");
      }
      if (!writer.done()) writer.send(500, "application/json", R"({"code":500,"message":"no response"})");
      if (!writer.ok() || !req.keep_alive()) return;
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  std::unique_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  int connections_ = 0;
  std::set<int> open_fds_;
};

}  // namespace

Result<std::string> percent_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return Error{ErrorCode::invalid_argument, "bad percent escape"};
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return Error{ErrorCode::invalid_argument, "bad percent escape"};
    out.push_back(char(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Result<HttpRequest> parse_http_request(const std::string& raw, size_t max_body_bytes) {
  http::request_parser<http::string_body> parser;
  set_limits(parser, max_body_bytes);
  parser.eager(true);
  beast::error_code ec;
  asio::const_buffer rest(raw.data(), raw.size());
  while (!parser.is_done() && rest.size() > 0) {
    const size_t used = parser.put(rest, ec);
    rest += used;
    if (ec == http::error::need_more && used > 0) ec = {};
    if (ec) break;
  }
  if (!parser.is_done() && (!ec || ec == http::error::need_more)) parser.put_eof(ec);
  if (ec || !parser.is_done()) return Error{ErrorCode::invalid_argument, "malformed HTTP request: " + ec.message()};
  return request_of(parser.get(), "");
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpHandler handler) {
  auto server = std::make_unique<BeastServer>(options, std::move(handler));
  if (auto listening = server->listen(); !listening) return listening.error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

std::map<std::string, std::string> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= q.size()) {
    size_t end = q.find('&', start);
    if (end == std::string::npos) end = q.size();
    const std::string pair = q.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      std::string key = pair.substr(0, eq), value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      for (auto* s : {&key, &value})
        for (auto& c : *s)
          if (c == '+') c = ' ';
      auto k = percent_decode(key);
      auto v = percent_decode(value);
      if (k && v) out[*k] = *v;
    }
    start = end + 1;
  }
  return out;
}

Result<int64_t> query_number(const HttpRequest& req, const std::string& name, int64_t fallback, int64_t max) {
  const std::string text = req.query_param(name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end || errno || v < 0 || v > max)
    return Error{ErrorCode::invalid_argument, name + " must be a whole number from 0 to " + std::to_string(max)};
  return int64_t(v);
}

}  // namespace soulbox::gateway
