// The gateway's own figures in Prometheus' text format (GET /metrics):
// requests by route family and status class, their latency as a histogram,
// requests in flight, and the nodes and sandboxes the heartbeats report.
#pragma once
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "gateway/http_server.h"

namespace soulbox::gateway {

class HttpMetrics {
 public:
  // "control", "envd.process", "envd.filesystem", "envd.files", "ops", "other".
  static std::string route_family(const HttpRequest& req);
  void record(const std::string& family, int status, double seconds);
  std::atomic<int64_t> in_flight{0};
  // `extra`: gauges others own (nodes, sandboxes), appended as given.
  std::string prometheus(const std::map<std::string, double>& gauges) const;

 private:
  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1,    5};
  struct Series {
    uint64_t count = 0;
    double sum = 0;
    std::array<uint64_t, kBuckets.size()> le{};  // cumulative at render time
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;  // (family, "2xx") -> n
  std::map<std::string, Series> latency_;                             // family -> histogram
};

// Passes a response through and remembers its status (for HttpMetrics).
class StatusRecorder final : public ResponseWriter {
 public:
  explicit StatusRecorder(ResponseWriter& inner) : inner_(inner) {}
  void send(int status, const std::string& content_type, const std::string& body,
            const std::map<std::string, std::string>& headers = {}) override {
    status_ = status;
    inner_.send(status, content_type, body, headers);
  }
  bool start(int status, const std::string& content_type) override {
    status_ = status;
    return inner_.start(status, content_type);
  }
  bool write(const std::string& chunk) override { return inner_.write(chunk); }
  void finish() override { inner_.finish(); }
  void finish_with(const std::string& chunk) override { inner_.finish_with(chunk); }
  bool client_gone() override { return inner_.client_gone(); }
  void abort() override { inner_.abort(); }
  int status() const { return status_; }

 private:
  ResponseWriter& inner_;
  int status_ = 0;
};

}  // namespace soulbox::gateway
