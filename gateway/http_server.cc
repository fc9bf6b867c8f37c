#include "gateway/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_set>

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

// The local end of a connection, as "address:port" ("[v6]:port").
std::string local_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "";
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
// - A few I/O threads (`io_threads`) run one io_context: accepting, TLS
//   handshakes and reading requests are Beast's asynchronous operations.
//   Between requests a connection holds no thread, no parser and no read
//   buffer beyond the 512 bytes Beast's next read takes.
// - A complete request goes to the handler pool (handler_pool.h): handlers
//   block (they wait on the bus; a stream loops for its whole life).
// - A connection's stream has one owner at a time: the I/O side while a
//   handshake, a read or a refusal is pending (one at a time, so no strand
//   is needed), or the thread running its handler. While the handler runs
//   nothing is read from the connection (its requests are answered in
//   order; a pipelined next one waits in the buffer), so the handler's
//   ResponseWriter writes directly and synchronously on the stream from its
//   own thread, TLS included; when the handler returns, that thread starts
//   the next read and so hands the stream back. A response costs no hop to
//   an I/O thread and back (it did, at first: ~2x the context switches and
//   half the requests/s of a thread per connection on small requests).
// - Timeouts: each handshake, read and write sets a deadline, and a watchdog
//   on the I/O threads (once a second) shuts down the socket of a connection
//   past its deadline, which ends whatever waits on it, a blocked
//   synchronous write included.
// - A socket is shut down, never closed, while its session lives: the
//   descriptor the watchdog, stopping and client_gone() use from other
//   threads stays this connection's. It closes with the session's last
//   reference.
// - Stopping: the acceptor closes, every connection's socket is shut down
//   (reads end; a stream's next write fails and client_gone() says so), and
//   the server waits for the last session to go before stopping its I/O
//   threads and then its handler pool.

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool benign_end(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof ||
         ec == asio::ssl::error::stream_truncated || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor;
}

class BeastServer;

// A connection as the server sees it, whatever its stream: counted, watched
// for its deadline, shut down when the server stops.
class SessionBase {
 public:
  SessionBase(BeastServer& server, int fd) : server_(server), fd_(fd) {}
  virtual ~SessionBase();  // after the stream closed: the server counts it gone
  SessionBase(const SessionBase&) = delete;
  SessionBase& operator=(const SessionBase&) = delete;

  // Any thread: whatever waits on the socket ends.
  void shut_down() const { ::shutdown(fd_, SHUT_RDWR); }

  // The watchdog's check.
  void expire_if_past(int64_t now_ms) {
    const int64_t deadline = deadline_ms_.load(std::memory_order_relaxed);
    if (deadline == 0 || now_ms < deadline) return;
    timed_out_ = true;
    shut_down();
  }

 protected:
  void set_deadline(int seconds) { deadline_ms_ = seconds > 0 ? steady_ms() + int64_t(seconds) * 1000 : 0; }
  void clear_deadline() { deadline_ms_ = 0; }

  BeastServer& server_;
  const int fd_;
  std::atomic<int64_t> deadline_ms_{0};  // of the pending operation; 0: none
  std::atomic<bool> timed_out_{false};
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(HttpServerOptions o, HttpHandler h)
      : options_(std::move(o)),
        handler_(std::move(h)),
        pool_(pool_limits(options_)),
        work_(asio::make_work_guard(io_)),
        acceptor_(asio::make_strand(io_)),
        accept_retry_(acceptor_.get_executor()),
        watchdog_(io_) {}

  ~BeastServer() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (auto* s : sessions_) s->shut_down();
    }
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_.cancel();
    });
    {
      std::unique_lock<std::mutex> lock(mu_);
      ended_.wait(lock, [&] { return live_ == 0; });
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
    max_connections_ = connection_limit(options_.max_connections);
    asio::dispatch(acceptor_.get_executor(), [this] { accept(); });
    watch();
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
  // A session going: out of the watchdog's sight (its socket still open) ...
  void forget(SessionBase* s) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(s);
  }
  // ... and then gone (its socket closed).
  void ended() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--live_ == 0) ended_.notify_all();
  }

 private:
  // Connections take descriptors the rest of the process needs too
  // (soulboxd's sandboxes, RocksDB): at most three quarters of the
  // open-files limit, whatever `max_connections` says.
  static int connection_limit(int configured) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return configured;
    const int allowed = int(std::min<rlim_t>(rl.rlim_cur / 4 * 3, INT_MAX));
    if (configured <= allowed) return configured;
    logger("gateway")->info("at most {} connections: three quarters of the open-files limit ({})", allowed,
                            rl.rlim_cur);
    return allowed;
  }

  static HandlerPool::Limits pool_limits(const HttpServerOptions& o) {
    HandlerPool::Limits limits;
    limits.max_threads = o.max_handler_threads;
    limits.max_queued = o.max_queued_requests;
    return limits;
  }

  void accept() {
    acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket socket) {
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

  // Once a second: connections past their deadline are shut down.
  void watch() {
    watchdog_.expires_after(std::chrono::seconds(1));
    watchdog_.async_wait([this](beast::error_code ec) {
      if (ec || stopping_) return;
      const int64_t now = steady_ms();
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto* s : sessions_) s->expire_if_past(now);
      }
      watch();
    });
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  std::unique_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  HandlerPool pool_;                         // stops after the I/O threads
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;           // on a strand: closed from the destructor's thread
  asio::steady_timer accept_retry_;  // on the acceptor's strand
  bool accept_failing_ = false;      // on the acceptor's strand
  asio::steady_timer watchdog_;
  std::vector<std::thread> io_threads_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  int max_connections_ = 0;  // options_.max_connections within the open-files limit
  std::mutex mu_;
  std::condition_variable ended_;
  int live_ = 0;                               // sessions not yet gone: the connection count
  std::unordered_set<SessionBase*> sessions_;  // live ones whose socket is open
};

SessionBase::~SessionBase() {
  server_.ended();
}

// One connection: its requests read by the I/O side, each handled (and
// answered) on a handler thread; see the top of this section.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  template <class... Args>
  Session(BeastServer& server, int fd, std::string peer, Args&&... stream_args)
      : SessionBase(server, fd), peer_(std::move(peer)), stream_(std::forward<Args>(stream_args)...) {}
  ~Session() override { server_.forget(this); }

  // The I/O side, first.
  void start() {
    if constexpr (kTls) {
      set_deadline(idle_timeout_s());
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        self->clear_deadline();
        if (ec || self->timed_out_) return self->end();  // an untrusted client certificate ends here
        self->cert_ = verified_client_cert(self->stream_.native_handle());
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  // The handler's thread: `write(stream, ec)` now, under the idle timeout.
  template <class Write>
  bool write_now(Write&& write) {
    set_deadline(idle_timeout_s());
    beast::error_code ec;
    write(stream_, ec);
    clear_deadline();
    return !ec && !timed_out_;
  }

  bool peer_closed() const {
    // A closed peer reads as readable-with-hangup; pending request bytes
    // (a pipelined next request) do not count.
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

 private:
  int idle_timeout_s() const { return server_.options().idle_timeout_s; }

  // By the stream's owner (I/O side, or the handler's thread handing it back).
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
    set_deadline(idle_timeout_s());
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(const beast::error_code& ec) {
    clear_deadline();
    if (timed_out_ || server_.stopping()) return end();
    if (ec == http::error::body_limit)
      return refuse(http::status::payload_too_large, R"({"code":413,"message":"request body too large"})");
    if (ec && !benign_end(ec))
      return refuse(http::status::bad_request, R"({"code":400,"message":"malformed HTTP request"})");
    if (ec) return end();
    if (!parser_->is_done()) return read_some();
    dispatch();
  }

  // The request to a handler thread (and the stream with it); when none is
  // free and the queue is full, 503.
  void dispatch() {
    auto& req = parser_->get();
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    HttpRequest r = request_of(req, peer_);
    r.client_cert = cert_;
    r.tls = kTls;
    r.local = local_address(fd_);
    parser_.reset();
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    auto self = this->shared_from_this();
    const bool queued = server_.pool().submit(
        [self, r = std::move(r), version, keep_alive]() mutable { self->handle(r, version, keep_alive); });
    if (!queued) refuse(http::status::service_unavailable, R"({"code":503,"message":"too many requests; retry"})");
  }

  // On a handler thread, which owns the stream until it returns.
  void handle(const HttpRequest& req, unsigned version, bool keep_alive);

  // The I/O side's own answers (then the connection ends): written
  // asynchronously, so a client that reads nothing holds no I/O thread.
  void refuse(http::status status, const char* body) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "soulbox-gateway");
    res->set(http::field::content_type, "application/json");
    if (status == http::status::service_unavailable) res->set(http::field::retry_after, "1");
    res->keep_alive(false);
    res->body() = body;
    res->prepare_payload();
    set_deadline(idle_timeout_s());
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code, size_t) {
      self->clear_deadline();
      self->end();
    });
  }

  // Nothing more on this connection: it closes with the last reference.
  void end() { shut_down(); }

  const std::string peer_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<HttpRequest::ClientCert> cert_;
};

// What a handler writes with: directly on the stream, from the handler's
// thread (see the top of this section).
template <class Stream>
class Writer final : public ResponseWriter {
 public:
  Writer(Session<Stream>& session, unsigned version, bool keep_alive)
      : session_(session), version_(version), keep_alive_(keep_alive) {}

  void send(int status, const std::string& content_type, const std::string& body,
            const std::map<std::string, std::string>& headers = {}) override {
    if (done_) return;
    if (streaming_) return abort();  // a whole response cannot follow a started one
    http::response<http::string_body> res{http::status(status), version_};
    res.set(http::field::server, "soulbox-gateway");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
    res.body() = body;
    res.prepare_payload();
    ok_ = session_.write_now([&](Stream& s, beast::error_code& ec) { http::write(s, res, ec); });
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
    if (!ok_ || done_ || chunk.empty()) return ok_;
    ok_ = session_.write_now([&](Stream& s, beast::error_code& ec) {
      asio::write(s, beast::buffers_cat(asio::buffer(head_), http::make_chunk(asio::buffer(chunk))), ec);
    });
    head_.clear();
    return ok_;
  }

  void finish() override { finish_with(""); }

  void finish_with(const std::string& chunk) override {
    if (done_) return;
    done_ = true;
    if (!ok_) return;
    ok_ = session_.write_now([&](Stream& s, beast::error_code& ec) {
      if (chunk.empty())
        asio::write(s, beast::buffers_cat(asio::buffer(head_), http::make_chunk_last()), ec);
      else
        asio::write(
            s, beast::buffers_cat(asio::buffer(head_), http::make_chunk(asio::buffer(chunk)), http::make_chunk_last()),
            ec);
    });
    head_.clear();
  }

  // The connection closes once the handler returns.
  void abort() override {
    ok_ = false;
    done_ = true;
  }

  bool client_gone() override { return !ok_ || session_.peer_closed(); }

  // After the handler: a response it never gave, or a stream it never ended.
  void complete(const char* why) {
    if (done_) return;
    if (streaming_) return abort();
    send(500, "application/json", std::string(R"({"code":500,"message":")") + why + "\"}");
  }

  // Whether the connection goes on to its next request.
  bool reusable() const { return ok_ && keep_alive_; }

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
  if (writer.reusable()) return read_request();  // the stream back to the I/O side
  end();
}

void BeastServer::admit(tcp::socket socket) {
  beast::error_code ec;
  // Streams are many small writes (each event a chunk): without this,
  // Nagle holds the last ones for the peer's delayed ACK (~40 ms).
  socket.set_option(tcp::no_delay(true), ec);
  const auto remote = socket.remote_endpoint(ec);
  std::string peer = ec ? "" : remote.address().to_string() + ":" + std::to_string(remote.port());
  const int fd = socket.native_handle();
  std::function<void()> start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (live_ >= max_connections_) {
      if (!tls_) refuse_busy(socket);  // over TLS, closing is all that can be said before a handshake
      return;
    }
    SessionBase* session;
    if (tls_) {
      auto s = std::make_shared<Session<beast::ssl_stream<tcp::socket>>>(*this, fd, std::move(peer), std::move(socket),
                                                                         *tls_);
      session = s.get();
      start = [s] { s->start(); };
    } else {
      auto s = std::make_shared<Session<tcp::socket>>(*this, fd, std::move(peer), std::move(socket));
      session = s.get();
      start = [s] { s->start(); };
    }
    ++live_;
    sessions_.insert(session);
  }
  start();
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

std::string HttpRequest::base_url() const {
  const std::string host = header("host").empty() ? local : header("host");
  const bool https = tls || header("x-forwarded-proto") == "https";
  return (https ? "https://" : "http://") + host;
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
