// The gateway's HTTP server (gateway/http_server.h) on its own: a real
// server on a loopback port and raw sockets, for what the routes' tests take
// for granted — many keep-alive connections on a few threads, the connection
// cap, the idle timeout, streamed chunks, a client that goes away, request
// bodies, the handler threads' limit, and TLS.
#include "gateway/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/sandbox_env.h"

namespace {

using namespace soulbox;
using namespace std::chrono_literals;
using gateway::HttpRequest;
using gateway::HttpServer;
using gateway::HttpServerOptions;
using gateway::ResponseWriter;

// Threads of this process (the server runs in it).
int thread_count() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  while (auto* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

// Client and server ends of many connections live in this process.
rlim_t raise_open_files_limit() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

void set_open_files_limit(rlim_t soft) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = soft;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

struct Reply {
  int status = 0;
  std::string head, body;
  bool ok = false;  // a whole response arrived
  std::string header(const std::string& name) const {
    const auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const auto start = at + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// One client connection with blocking reads (a 30 s receive timeout only so
// that a server that never answers fails the test instead of hanging it).
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  Conn(Conn&& o) noexcept : fd_(o.fd_), connected_(o.connected_), buf_(std::move(o.buf_)) { o.fd_ = -1; }

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += size_t(n);
    }
    return true;
  }
  bool get(const std::string& target, const std::string& extra_headers = "") {
    return send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n");
  }

  // The next response's head alone (its status 0 when none came).
  Reply head() {
    Reply r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r;
    r.head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (r.head.size() > 12) r.status = std::atoi(r.head.c_str() + 9);
    return r;
  }

  // The next response: its head, then a Content-Length body or chunks.
  Reply reply() {
    Reply r = head();
    if (!r.status) return r;
    if (r.header("Transfer-Encoding") == "chunked") {
      while (true) {
        auto chunk = next_chunk();
        if (!chunk) return r;
        if (chunk->empty()) break;
        r.body += *chunk;
      }
    } else {
      const size_t length = std::strtoul(r.header("Content-Length").c_str(), nullptr, 10);
      while (buf_.size() < length)
        if (!fill()) return r;
      r.body = buf_.substr(0, length);
      buf_.erase(0, length);
    }
    r.ok = true;
    return r;
  }

  // One chunk of a chunked body ("" for the last one); nullopt when cut.
  std::optional<std::string> next_chunk() {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    const size_t size = std::strtoul(buf_.substr(0, eol).c_str(), nullptr, 16);
    while (buf_.size() < eol + 2 + size + 2)
      if (!fill()) return std::nullopt;
    std::string data = buf_.substr(eol + 2, size);
    buf_.erase(0, eol + 2 + size + 2);
    return data;
  }

  // True when the server closed the connection (rather than sending more).
  bool closed_by_server() {
    char c;
    return buf_.empty() && ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool fill() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, size_t(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::unique_ptr<HttpServer> serve(const HttpServerOptions& options, gateway::HttpHandler handler) {
  auto server = HttpServer::start(options, std::move(handler));
  REQUIRE(server.ok());
  return std::move(*server);
}

void echo_path(const HttpRequest& req, ResponseWriter& out) {
  out.send(200, "text/plain", req.path);
}

// A handler's wait for the test to say "go on" (streams held open).
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 60s, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_CASE("3000 keep-alive connections are answered at once on a bounded number of threads", "[http]") {
  // 3000 connections' both ends, within three quarters of the limit.
  REQUIRE(raise_open_files_limit() >= 8200);
  auto server = serve(HttpServerOptions{}, echo_path);
  const int threads_before = thread_count();
  constexpr int kConnections = 3000;
  std::vector<Conn> conns;
  conns.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    conns.emplace_back(server->port());
    REQUIRE(conns.back().connected());
  }
  int threads_most = threads_before;
  int answered = 0, refused = 0, failed = 0;
  for (int round = 0; round < 3; ++round) {
    // Every connection has a request in flight before any is read.
    for (int i = 0; i < kConnections; ++i)
      REQUIRE(conns[size_t(i)].get("/r" + std::to_string(round) + "/" + std::to_string(i)));
    threads_most = std::max(threads_most, thread_count());
    for (int i = 0; i < kConnections; ++i) {
      const Reply r = conns[size_t(i)].reply();
      if (!r.ok)
        ++failed;
      else if (r.status == 200 && r.body == "/r" + std::to_string(round) + "/" + std::to_string(i))
        ++answered;
      else
        ++refused;
    }
    threads_most = std::max(threads_most, thread_count());
  }
  CHECK(failed == 0);
  CHECK(refused == 0);
  CHECK(answered == 3 * kConnections);
  // A thread per connection would be 3000 more.
  INFO("threads before " << threads_before << ", at most " << threads_most);
  CHECK(threads_most - threads_before < 200);
}

TEST_CASE("beyond max_connections a connection is answered 503 with Retry-After, and gets in once one closes",
          "[http]") {
  CHECK(HttpServerOptions{}.max_connections >= 65536);
  HttpServerOptions o;
  o.max_connections = 4;
  auto server = serve(o, echo_path);
  std::vector<Conn> conns;
  for (int i = 0; i < 4; ++i) {
    conns.emplace_back(server->port());
    REQUIRE(conns.back().get("/in"));
    REQUIRE(conns.back().reply().status == 200);  // accepted and counted
  }
  Conn over(server->port());
  over.get("/over");  // the server may have answered and closed already
  const Reply refused = over.reply();
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  // The first four are still served.
  REQUIRE(conns[0].get("/again"));
  CHECK(conns[0].reply().status == 200);
  conns[3].close();
  CHECK(test::eventually([&] {
    Conn next(server->port());
    return next.get("/next") && next.reply().status == 200;
  }));
}

TEST_CASE("the connection cap stays within three quarters of the open-files limit", "[http]") {
  // The server takes its cap from the limit when it starts (400: at most
  // 300 connections); the test's own ends need the limit raised again.
  set_open_files_limit(400);
  auto server = serve(HttpServerOptions{}, echo_path);
  REQUIRE(raise_open_files_limit() >= 1000);
  std::vector<Conn> conns;
  conns.reserve(300);
  int served = 0;
  for (int i = 0; i < 300; ++i) {
    conns.emplace_back(server->port());
    if (conns.back().get("/in") && conns.back().reply().status == 200) ++served;
  }
  CHECK(served == 300);
  Conn over(server->port());
  over.get("/over");
  const Reply refused = over.reply();
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
}

TEST_CASE("keep-alive serves requests in order on one connection until the idle timeout closes it", "[http]") {
  HttpServerOptions o;
  o.idle_timeout_s = 1;
  auto server = serve(o, echo_path);
  Conn c(server->port());
  // Two requests in one write (pipelined) and a third later: answered in order.
  REQUIRE(c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(c.reply().body == "/a");
  CHECK(c.reply().body == "/b");
  REQUIRE(c.get("/c"));
  const Reply third = c.reply();
  CHECK(third.body == "/c");
  CHECK(third.header("Connection") != "close");
  // Idle past the timeout: the server closes (the read sees the end, not
  // the test's own 30 s guard).
  CHECK(c.closed_by_server());

  // Connection: close and HTTP/1.0 end after the response.
  Conn once(server->port());
  REQUIRE(once.get("/once", "Connection: close\r\n"));
  CHECK(once.reply().status == 200);
  CHECK(once.closed_by_server());
  Conn old(server->port());
  REQUIRE(old.send("GET /old HTTP/1.0\r\n\r\n"));
  CHECK(old.reply().body == "/old");
  CHECK(old.closed_by_server());
}

TEST_CASE("request bodies: chunked, over the limit (413) and malformed requests (400)", "[http]") {
  HttpServerOptions o;
  o.max_body_bytes = 1000;
  auto server = serve(o, [](const HttpRequest& req, ResponseWriter& out) {
    out.send(200, "text/plain", req.method + " " + std::to_string(req.body.size()) + " " + req.body.substr(0, 8));
  });
  Conn c(server->port());
  REQUIRE(
      c.send("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n3\r\n, w\r\n0\r\n\r\n"));
  CHECK(c.reply().body == "POST 8 hello, w");
  // The body arriving in pieces, slower than one read.
  REQUIRE(c.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\n\r\n" + std::string(300, 'a')));
  std::this_thread::sleep_for(50ms);
  REQUIRE(c.send(std::string(300, 'b')));
  CHECK(c.reply().body == "POST 600 aaaaaaaa");

  Conn big(server->port());
  REQUIRE(big.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x')));
  const Reply too_large = big.reply();
  CHECK(too_large.status == 413);
  CHECK(big.closed_by_server());

  Conn bad(server->port());
  REQUIRE(bad.send("NOT HTTP AT ALL\r\n\r\n"));
  CHECK(bad.reply().status == 400);
}

TEST_CASE("a streamed response leaves chunk by chunk, and the handler sees the client go", "[http]") {
  Gate second_chunk;
  std::atomic<int> gone_seen{0};
  auto server = serve(HttpServerOptions{}, [&](const HttpRequest& req, ResponseWriter& out) {
    if (req.path == "/stream") {
      out.start(200, "text/plain");
      out.write("one");
      second_chunk.wait();  // until the client has read "one"
      out.write("two");
      return out.finish_with("three");
    }
    if (req.path == "/until-gone") {
      out.start(200, "text/plain");
      out.write("hello");
      for (int i = 0; i < 3000 && !out.client_gone(); ++i) std::this_thread::sleep_for(10ms);
      gone_seen = out.client_gone() ? 1 : -1;
      return out.finish();
    }
    if (req.path == "/cut") {
      out.start(200, "text/plain");
      out.write("partial");
      return out.abort();
    }
    out.send(200, "text/plain", "after");
  });
  Conn c(server->port());
  REQUIRE(c.get("/stream"));
  // The head and the first chunk arrive while the handler still waits.
  CHECK(c.head().status == 200);
  CHECK(c.next_chunk() == std::optional<std::string>("one"));
  second_chunk.open();
  CHECK(c.next_chunk() == std::optional<std::string>("two"));
  CHECK(c.next_chunk() == std::optional<std::string>("three"));
  CHECK(c.next_chunk() == std::optional<std::string>(""));
  // The connection goes on after a finished stream.
  REQUIRE(c.get("/plain"));
  CHECK(c.reply().body == "after");

  Conn leaving(server->port());
  REQUIRE(leaving.get("/until-gone"));
  CHECK(leaving.head().status == 200);
  CHECK(leaving.next_chunk() == std::optional<std::string>("hello"));
  leaving.close();
  CHECK(test::eventually([&] { return gone_seen != 0; }, 40000));
  CHECK(gone_seen == 1);

  Conn cut(server->port());
  REQUIRE(cut.get("/cut"));
  const Reply partial = cut.reply();
  CHECK_FALSE(partial.ok);  // no last chunk: the client sees a cut response
  CHECK(partial.body == "partial");
}

TEST_CASE("handlers beyond max_handler_threads wait in the queue, and beyond the queue get 503 with Retry-After",
          "[http]") {
  HttpServerOptions o;
  o.max_handler_threads = 2;
  o.max_queued_requests = 1;
  Gate release;
  auto server = serve(o, [&](const HttpRequest& req, ResponseWriter& out) {
    if (req.path != "/hold") return out.send(200, "text/plain", req.path);
    out.start(200, "text/plain");
    out.write("held");
    release.wait();
    out.finish();
  });
  std::vector<Conn> held;
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(server->port());
    REQUIRE(held.back().get("/hold"));
    REQUIRE(held.back().head().status == 200);
    REQUIRE(held.back().next_chunk() == std::optional<std::string>("held"));
  }
  // Both threads hold a stream: of two more requests, one waits in the
  // queue and the other (whichever comes second) is refused at once.
  std::vector<Conn> more;
  for (const char* path : {"/one", "/two"}) {
    more.emplace_back(server->port());
    REQUIRE(more.back().get(path));
  }
  pollfd answered[2] = {{more[0].fd(), POLLIN, 0}, {more[1].fd(), POLLIN, 0}};
  REQUIRE(::poll(answered, 2, 30000) == 1);
  const size_t refused_one = (answered[0].revents & POLLIN) ? 0 : 1;
  const Reply refused = more[refused_one].reply();
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  release.open();
  const Reply queued = more[1 - refused_one].reply();
  CHECK(queued.status == 200);
  CHECK(queued.body == (refused_one == 0 ? "/two" : "/one"));
  for (auto& c : held) CHECK(c.next_chunk() == std::optional<std::string>(""));
}

TEST_CASE("more streams than start at once each get a thread, and other requests are answered meanwhile", "[http]") {
  Gate release;
  auto server = serve(HttpServerOptions{}, [&](const HttpRequest& req, ResponseWriter& out) {
    if (req.path != "/hold") return out.send(200, "text/plain", req.path);
    out.start(200, "text/plain");
    out.write("held");
    release.wait();
    out.finish();
  });
  constexpr int kStreams = 150;
  std::vector<Conn> streams;
  streams.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    streams.emplace_back(server->port());
    REQUIRE(streams.back().get("/hold"));
  }
  int started = 0;
  for (auto& c : streams)
    if (c.head().status == 200 && c.next_chunk() == std::optional<std::string>("held")) ++started;
  CHECK(started == kStreams);
  Conn plain(server->port());
  REQUIRE(plain.get("/plain"));
  CHECK(plain.reply().body == "/plain");
  release.open();
  for (auto& c : streams) CHECK(c.next_chunk() == std::optional<std::string>(""));
}

TEST_CASE("TLS: keep-alive requests and a streamed response on one connection", "[http]") {
  const std::string dir = std::filesystem::temp_directory_path() / ("soulbox-http-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto made = test::run_host({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                    dir + "/server.key", "-out", dir + "/server.pem", "-days", "1", "-subj",
                                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  REQUIRE(made.exit_code == 0);
  HttpServerOptions o;
  o.tls_cert_file = dir + "/server.pem";
  o.tls_key_file = dir + "/server.key";
  auto server = serve(o, [](const HttpRequest& req, ResponseWriter& out) {
    if (req.path != "/stream") return out.send(200, "text/plain", req.path + (req.client_cert ? " cert" : ""));
    out.start(200, "text/plain");
    out.write("one,");
    out.finish_with("two");
  });
  const std::string base = "https://127.0.0.1:" + std::to_string(server->port());
  // curl reuses its connection for the second and third URL (num_connects 0).
  const auto r = test::run_host({"/usr/bin/curl", "-sS", "--max-time", "20", "--cacert", dir + "/server.pem", "-w",
                                 " %{http_code} %{num_connects}\n", base + "/a", base + "/stream", base + "/b"});
  INFO(r.err);
  CHECK(r.out == "/a 200 1\none,two 200 0\n/b 200 0\n");
  // Plain HTTP on the TLS port gets no answer.
  Conn plain(server->port());
  plain.get("/plain");
  CHECK(plain.reply().status == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
