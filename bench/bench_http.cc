#include "bench/bench_http.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bus/subjects.h"

namespace soulbox::bench {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

void die(const std::string& what, const std::string& why) {
  std::cerr << "bench: " << what << ": " << why << "\n";
  std::exit(1);
}

HttpConnection::HttpConnection(uint16_t port) : stream_(io_) {
  stream_.connect(tcp::endpoint(tcp::v4(), port));
}

http::response<http::string_body> HttpConnection::call(http::verb verb, const std::string& target,
                                                       const Headers& headers, const std::string& body) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream_, req);
  http::response<http::string_body> res;
  http::read(stream_, buffer_, res);
  return res;
}

pid_t start_gateway(const std::string& build, const std::string& data_dir, const std::string& ready) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string log = ready + ".out";
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string bin = build + "/soulbox-gateway";
    ::execl(bin.c_str(), bin.c_str(), "--data-dir", data_dir.c_str(), "--port", "0", "--ready-file", ready.c_str(),
            nullptr);
    ::_exit(127);
  }
  return pid;
}

uint16_t wait_port(const std::string& ready) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(ready);
    const json j = json::parse(in, nullptr, false);
    if (j.is_object()) {
      const std::string url = j.value("url", "");
      return uint16_t(std::stoi(url.substr(url.rfind(':') + 1)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  die("gateway", "no ready file");
}

std::string api_key(client::Client& c) {
  namespace bp = busproto;
  must(c.call(bus::subjects::tenant_op("upsert"),
              [](flatbuffers::FlatBufferBuilder& fbb) {
                return std::make_pair(bp::Body::TenantUpsert,
                                      bp::CreateTenantUpsert(fbb, fbb.CreateString("bench")).Union());
              }),
       "tenant upsert");
  auto r = must(c.call(bus::subjects::tenant_op("key-create"),
                       [](flatbuffers::FlatBufferBuilder& fbb) {
                         auto roles = fbb.CreateVectorOfStrings(std::vector<std::string>{"admin"});
                         return std::make_pair(bp::Body::KeyCreate,
                                               bp::CreateKeyCreate(fbb, fbb.CreateString("bench"), roles).Union());
                       }),
                "key-create");
  return r.get().body_as_KeyCreated()->token()->str();
}

void table_header(const std::string& title) {
  std::cout << "\n### " << title << "\n\n| what | p50 | p90 | p99 | ratio (p50) |\n|---|---:|---:|---:|---:|\n";
}

void table_row(const std::string& name, const Summary& s, double base) {
  std::cout << "| " << name << " | " << fmt(s.p50) << " | " << fmt(s.p90) << " | " << fmt(s.p99) << " | "
            << fmt(s.p50 / base, 2) << "x |\n";
}

}  // namespace soulbox::bench
