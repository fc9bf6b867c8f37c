// What the benchmarks that go through the gateway share: a soulbox-gateway
// child, an API key, one keep-alive HTTP/1.1 connection, and the Markdown
// tables they print.
#pragma once
#include <sys/types.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/stats.h"
#include "client/client.h"

namespace soulbox::bench {

[[noreturn]] void die(const std::string& what, const std::string& why);

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what, r.error().message);
  return std::move(*r);
}

// One keep-alive HTTP/1.1 connection (Beast, synchronous).
class HttpConnection {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  explicit HttpConnection(uint16_t port);
  boost::beast::http::response<boost::beast::http::string_body> call(boost::beast::http::verb verb,
                                                                     const std::string& target, const Headers& headers,
                                                                     const std::string& body = "");

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

// soulbox-gateway on a free port over soulboxd's data dir; wait_port reads
// its ready file.
pid_t start_gateway(const std::string& build, const std::string& data_dir, const std::string& ready);
uint16_t wait_port(const std::string& ready);
// An admin API key of tenant "bench".
std::string api_key(client::Client& c);

// A Markdown table of latencies: header, then rows with a ratio to `base`.
void table_header(const std::string& title);
void table_row(const std::string& name, const Summary& s, double base);

}  // namespace soulbox::bench
