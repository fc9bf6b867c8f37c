#include "gateway/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

class Writer final : public ResponseWriter {
 public:
  Writer(tcp::socket& socket, unsigned version, bool keep_alive)
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

  bool start(int status, const std::string& content_type) override {
    http::response<http::empty_body> res{http::status(status), version_};
    res.set(http::field::server, "soulbox-gateway");
    res.set(http::field::content_type, content_type);
    res.keep_alive(keep_alive_);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    http::write_header(socket_, sr, ec);
    streaming_ = true;
    ok_ = !ec;
    return ok_;
  }

  bool write(const std::string& chunk) override {
    if (!ok_ || chunk.empty()) return ok_;
    beast::error_code ec;
    asio::write(socket_, http::make_chunk(asio::buffer(chunk)), ec);
    ok_ = !ec;
    return ok_;
  }

  void finish() override {
    if (ok_) {
      beast::error_code ec;
      asio::write(socket_, http::make_chunk_last(), ec);
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
    pollfd p{socket_.native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  bool done() const { return done_; }
  bool ok() const { return ok_; }

 private:
  tcp::socket& socket_;
  unsigned version_;
  bool keep_alive_;
  bool streaming_ = false, done_ = false, ok_ = true;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(HttpServerOptions o, HttpHandler h) : options_(std::move(o)), handler_(std::move(h)), acceptor_(io_) {}

  ~BeastServer() override {
    stopping_ = true;
    // A blocking accept() is not woken by close() from another thread;
    // shutdown() of the listening socket is (it returns EINVAL).
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    beast::error_code ec;
    std::unique_lock<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    cv_.wait(lock, [&] { return connections_ == 0; });
  }

  Status listen() {
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
        refuse_busy(socket);
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
    beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(16 * 1024);
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::body_limit) {
        Writer(socket, 11, false).send(413, "application/json", R"({"code":413,"message":"request body too large"})");
        break;
      }
      if (ec) {
        if (ec != http::error::end_of_stream && ec != asio::error::connection_reset && ec != asio::error::eof &&
            ec != asio::error::would_block && ec != asio::error::try_again)
          Writer(socket, 11, false).send(400, "application/json", R"({"code":400,"message":"malformed HTTP request"})");
        break;
      }
      auto& req = parser.get();
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
      Writer writer(socket, req.version(), req.keep_alive());
      try {
        handler_(r, writer);
      } catch (const std::exception& e) {
        logger("gateway")->error("{} {}: {}", r.method, r.path, e.what());
        if (!writer.done()) writer.send(500, "application/json", R"({"code":500,"message":"internal error"})");
      }
      if (!writer.done()) writer.send(500, "application/json", R"({"code":500,"message":"no response"})");
      if (!writer.ok() || !req.keep_alive()) break;
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(fd);
    --connections_;
    cv_.notify_all();
  }

  HttpServerOptions options_;
  HttpHandler handler_;
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

}  // namespace soulbox::gateway
