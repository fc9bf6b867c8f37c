#include "gateway/http_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "common/log.h"
#include "gateway/handler_pool.h"

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

// How the server works (see also http_server.h):
//
// - A few I/O threads (`io_threads`) run one io_context: the accept loop,
//   TLS handshakes, reading requests and writing whole responses are all
//   Beast's asynchronous operations. Each connection is a Session whose
//   operations run on its own strand; between requests it holds no thread,
//   no parser and no read buffer beyond Beast's first 512 bytes.
// - A complete request goes to the handler pool (handler_pool.h), because
//   handlers block (they wait on the bus; streams loop for their whole
//   life). While its handler runs, the connection reads nothing: requests on
//   one connection are answered in order, and a pipelined next request waits
//   in the read buffer.
// - The handler's ResponseWriter never touches the socket itself: it posts
//   each write to the connection's strand. A whole response (send(), and a
//   stream's last chunk) is posted and the handler goes on at once; the
//   session writes it and then reads the next request or closes. A stream's
//   other chunks are posted and waited for (write() returns whether the
//   chunk went out, and a slow client holds its own stream back, not the
//   others). So only the strand ever operates on the stream — the simple
//   correct choice for TLS too, where a write from another thread would race
//   with the engine's state — and each write is under the idle timeout like
//   any read (a tcp_stream expiry).
// - client_gone() polls the connection's descriptor from the handler's
//   thread (POLLRDHUP: a closed peer, not a pipelined request). The socket
//   is only shut down (never closed) while the session lives, so that
//   descriptor stays this connection's.
// - Stopping: the acceptor closes, every session's socket is shut down
//   (reads end; a stream's next write fails and client_gone() says so), and
//   the server waits for the last session to go before stopping its I/O
//   threads and then its handler pool.

template <class Stream>
class Session;

// Sessions known to the server: its connection count, and whom to stop.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void stop() = 0;  // any thread
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(HttpServerOptions o, HttpHandler h)
      : options_(std::move(o)),
        handler_(std::move(h)),
        pool_(pool_limits(options_)),
        work_(asio::make_work_guard(io_)),
        acceptor_(asio::make_strand(io_)),
        accept_retry_(acceptor_.get_executor()) {}

  ~BeastServer() override {
    std::vector<std::shared_ptr<SessionBase>> open;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (auto& [id, session] : sessions_)
        if (auto s = session.lock()) open.push_back(std::move(s));
    }
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_.cancel();
    });
    for (auto& s : open) s->stop();
    open.clear();  // outside the lock: this may be a session's last reference
    {
      std::unique_lock<std::mutex> lock(mu_);
      ended_.wait(lock, [&] { return sessions_.empty(); });
    }
    work_.reset();
    io_.stop();
    for (auto& t : io_threads_) t.join();
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
    asio::dispatch(acceptor_.get_executor(), [this] { accept(); });
    int threads = options_.io_threads;
    if (threads <= 0) threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    for (int i = 0; i < threads; ++i)
      io_threads_.emplace_back([this] {
        ::pthread_setname_np(::pthread_self(), "http-io");
        io_.run();
      });
    return {};
  }

  uint16_t port() const override { return port_; }

  // For the sessions.
  const HttpServerOptions& options() const { return options_; }
  const HttpHandler& handler() const { return handler_; }
  HandlerPool& pool() { return pool_; }
  bool stopping() const { return stopping_; }
  void ended(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
    if (sessions_.empty()) ended_.notify_all();
  }

 private:
  static HandlerPool::Limits pool_limits(const HttpServerOptions& o) {
    HandlerPool::Limits limits;
    limits.max_threads = o.max_handler_threads;
    limits.max_queued = o.max_queued_requests;
    return limits;
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (stopping_) return;
      if (ec) return accept_failed(ec);
      accept_failing_ = false;
      admit(std::move(socket));
      accept();
    });
  }

  // Out of descriptors (or memory) the pending connection stays in the
  // backlog: try again shortly rather than spin.
  void accept_failed(const beast::error_code& ec) {
    if (ec != asio::error::no_descriptors && ec != asio::error::no_buffer_space && ec != asio::error::no_memory &&
        ec.value() != ENFILE)
      return accept();
    if (!accept_failing_) logger("gateway")->warn("accepting connections: {}; retrying", ec.message());
    accept_failing_ = true;
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping_) accept();
    });
  }

  void admit(tcp::socket socket);

  static void refuse_busy(tcp::socket& socket) {
    http::response<http::string_body> res{http::status::service_unavailable, 11};
    res.set(http::field::server, "soulbox-gateway");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::retry_after, "1");
    res.keep_alive(false);
    res.body() = R"({"code":503,"message":"too many connections; retry"})";
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket, res, ec);  // a new socket's send buffer takes it whole
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  std::unique_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  HandlerPool pool_;                         // after the I/O threads have stopped, the handlers
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  bool accept_failing_ = false;  // on the acceptor's strand
  std::vector<std::thread> io_threads_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable ended_;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions_;  // open connections
};

bool benign_end(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof ||
         ec == asio::ssl::error::stream_truncated || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

// One connection: its requests read on its strand, each handed to the
// handler pool, its responses written on its strand.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Session(BeastServer& server, uint64_t id, int fd, std::string peer, Args&&... stream_args)
      : registration_{&server, id},
        server_(server),
        fd_(fd),
        peer_(std::move(peer)),
        stream_(std::forward<Args>(stream_args)...) {}

  // On the strand, first.
  void start() {
    if constexpr (kTls) {
      arm_timeout();
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->end();  // an untrusted client certificate ends here
        self->cert_ = verified_client_cert(self->stream_.native_handle());
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  void stop() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->end(); });
  }

  // For the handler's writer, on its thread. A stream's chunk: written on
  // the strand, and waited for.
  template <class Buffers>
  bool write_and_wait(const Buffers& buffers) {
    auto done = std::make_shared<std::promise<bool>>();
    auto result = done->get_future();
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), buffers, done] {
      self->arm_timeout();
      asio::async_write(self->stream_, buffers, [done](beast::error_code ec, size_t) { done->set_value(!ec); });
    });
    return result.get();
  }

  // A stream's last bytes, not waited for: then the next request, or the end.
  void write_last(std::shared_ptr<const std::string> bytes, bool keep_alive) {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), bytes, keep_alive] {
      self->arm_timeout();
      asio::async_write(self->stream_, asio::buffer(*bytes), [self, bytes, keep_alive](beast::error_code ec, size_t) {
        self->responded(!ec && keep_alive);
      });
    });
  }

  // A whole response (send()), not waited for either.
  void respond(std::shared_ptr<http::response<http::string_body>> res) {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), res] {
      self->arm_timeout();
      http::async_write(self->stream_, *res,
                        [self, res](beast::error_code ec, size_t) { self->responded(!ec && res->keep_alive()); });
    });
  }

  // A stream cut short (abort()): no last chunk, the connection closes.
  void cut() {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->end(); });
  }

  bool peer_closed() const {
    // A closed peer reads as readable-with-hangup; pending request bytes
    // (a pipelined next request) do not count.
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

 private:
  // Told to the server when the session is gone (declared first: destroyed
  // last, after the stream has closed its socket).
  struct Registration {
    BeastServer* server;
    uint64_t id;
    ~Registration() { server->ended(id); }
  };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // The next operation on the stream ends (and closes it) after the idle
  // timeout; none with a timeout of 0.
  void arm_timeout() {
    const int seconds = server_.options().idle_timeout_s;
    if (seconds > 0)
      lowest().expires_after(std::chrono::seconds(seconds));
    else
      lowest().expires_never();
  }

  void read_request() {
    if (server_.stopping()) return end();
    // Idle between requests: no read buffer beyond what Beast's next read
    // takes (512 bytes), unless a pipelined request is already in it.
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    parser_.emplace();
    set_limits(*parser_, server_.options().max_body_bytes);
    read_some();
  }

  // Some bytes at a time, each read under the idle timeout (a slow upload
  // that keeps sending is not cut).
  void read_some() {
    arm_timeout();
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(const beast::error_code& ec) {
    if (ec == http::error::body_limit)
      return refuse(http::status::payload_too_large, R"({"code":413,"message":"request body too large"})");
    if (ec && !benign_end(ec) && !server_.stopping())
      return refuse(http::status::bad_request, R"({"code":400,"message":"malformed HTTP request"})");
    if (ec) return end();
    if (!parser_->is_done()) return read_some();
    dispatch();
  }

  // The request to a handler thread; when none is free and the queue is
  // full, 503.
  void dispatch() {
    lowest().expires_never();
    auto& req = parser_->get();
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    HttpRequest r = request_of(req, peer_);
    r.client_cert = cert_;
    parser_.reset();
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    auto self = this->shared_from_this();
    const bool queued = server_.pool().submit(
        [self, r = std::move(r), version, keep_alive]() mutable { self->handle(r, version, keep_alive); });
    if (!queued) refuse(http::status::service_unavailable, R"({"code":503,"message":"too many requests; retry"})");
  }

  // On a handler thread.
  void handle(const HttpRequest& req, unsigned version, bool keep_alive);

  // The final write of a response is done: the next request, or the end.
  void responded(bool keep_alive) {
    if (keep_alive) return read_request();
    end();
  }

  void refuse(http::status status, const char* body) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "soulbox-gateway");
    res->set(http::field::content_type, "application/json");
    if (status == http::status::service_unavailable) res->set(http::field::retry_after, "1");
    res->keep_alive(false);
    res->body() = body;
    res->prepare_payload();
    arm_timeout();
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code, size_t) { self->end(); });
  }

  // Shut down, not closed: a handler thread may still poll the descriptor.
  void end() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  Registration registration_;
  BeastServer& server_;
  const int fd_;
  const std::string peer_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<HttpRequest::ClientCert> cert_;
};

// What a handler writes with, on its own thread: every write goes through
// the session's strand (see the comment at the top).
template <class Stream>
class Writer final : public ResponseWriter {
 public:
  Writer(Session<Stream>& session, unsigned version, bool keep_alive)
      : session_(session), version_(version), keep_alive_(keep_alive) {}

  void send(int status, const std::string& content_type, const std::string& body,
            const std::map<std::string, std::string>& headers = {}) override {
    if (done_) return;
    if (streaming_) return abort();  // a whole response cannot follow a started one
    auto res = std::make_shared<http::response<http::string_body>>(http::status(status), version_);
    res->set(http::field::server, "soulbox-gateway");
    if (!content_type.empty()) res->set(http::field::content_type, content_type);
    for (const auto& [k, v] : headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = body;
    res->prepare_payload();
    done_ = true;
    session_.respond(std::move(res));
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
    if (!ok_ || done_ || chunk.empty()) return ok_;
    ok_ = session_.write_and_wait(beast::buffers_cat(asio::buffer(head_), http::make_chunk(asio::buffer(chunk))));
    head_.clear();
    return ok_;
  }

  void finish() override { finish_with(""); }

  // Not waited for: the session writes it, then reads the next request.
  void finish_with(const std::string& chunk) override {
    if (done_) return;
    done_ = true;
    if (!ok_) return session_.cut();
    auto last = std::make_shared<std::string>(std::move(head_));
    if (!chunk.empty()) *last += beast::buffers_to_string(http::make_chunk(asio::buffer(chunk)));
    *last += beast::buffers_to_string(http::make_chunk_last());
    session_.write_last(std::move(last), keep_alive_);
  }

  void abort() override {
    if (done_) return;
    ok_ = false;
    done_ = true;
    session_.cut();
  }

  bool client_gone() override { return !ok_ || session_.peer_closed(); }

  // After the handler: a response it never gave, or a stream it never ended.
  void complete(const char* why) {
    if (done_) return;
    if (streaming_) return abort();
    send(500, "application/json", std::string(R"({"code":500,"message":")") + why + "\"}");
  }

 private:
  Session<Stream>& session_;
  unsigned version_;
  bool keep_alive_;
  bool streaming_ = false, done_ = false, ok_ = true;
  std::string head_;  // a started stream's head, until its first chunk
};

template <class Stream>
void Session<Stream>::handle(const HttpRequest& req, unsigned version, bool keep_alive) {
  Writer<Stream> writer(*this, version, keep_alive);
  try {
    server_.handler()(req, writer);
  } catch (const std::exception& e) {
    logger("gateway")->error("{} {}: {}", req.method, req.path, e.what());
    writer.complete("internal error");
  }
  writer.complete("no response");
}

void BeastServer::admit(tcp::socket socket) {
  beast::error_code ec;
  // Streams are many small writes (each event a chunk): without this,
  // Nagle holds the last ones for the peer's delayed ACK (~40 ms).
  socket.set_option(tcp::no_delay(true), ec);
  const auto remote = socket.remote_endpoint(ec);
  std::string peer = ec ? "" : remote.address().to_string() + ":" + std::to_string(remote.port());
  const int fd = socket.native_handle();
  const auto strand = socket.get_executor();  // the session's: accepted onto a new strand
  std::shared_ptr<SessionBase> session;
  std::function<void()> start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.size() >= size_t(std::max(0, options_.max_connections))) {
      if (!tls_) refuse_busy(socket);  // over TLS, closing is all that can be said before a handshake
      return;
    }
    const uint64_t id = next_id_++;
    if (tls_) {
      auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, id, fd, std::move(peer),
                                                                               std::move(socket), *tls_);
      start = [s] { s->start(); };
      session = std::move(s);
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(*this, id, fd, std::move(peer), std::move(socket));
      start = [s] { s->start(); };
      session = std::move(s);
    }
    sessions_.emplace(id, session);
  }
  asio::dispatch(strand, std::move(start));
}

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
