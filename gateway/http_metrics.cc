#include "gateway/http_metrics.h"

#include <sstream>

namespace soulbox::gateway {

std::string HttpMetrics::route_family(const HttpRequest& req) {
  if (!req.header("e2b-sandbox-id").empty() || !req.header("e2b-sandbox-port").empty()) {
    if (req.path.rfind("/process.", 0) == 0) return "envd.process";
    if (req.path.rfind("/filesystem.", 0) == 0) return "envd.filesystem";
    if (req.path == "/files") return "envd.files";
    return "envd.other";
  }
  if (req.path == "/health" || req.path == "/version" || req.path == "/metrics" || req.path == "/openapi.json")
    return "ops";
  if (req.path.rfind("/sandboxes", 0) == 0 || req.path.rfind("/v2/sandboxes", 0) == 0) return "control";
  if (req.path.rfind("/v1/", 0) == 0) return "v1";
  return "other";
}

void HttpMetrics::record(const std::string& family, int status, double seconds) {
  const std::string code_class = std::to_string(status / 100) + "xx";
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{family, code_class}];
  Series& s = latency_[family];
  ++s.count;
  s.sum += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) {
      ++s.le[i];
      break;
    }
}

std::string HttpMetrics::prometheus(const std::map<std::string, double>& gauges) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mu_);
  out << "# HELP soulbox_gateway_requests_total HTTP requests answered, by route family and status class.\n"
      << "# TYPE soulbox_gateway_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out << "soulbox_gateway_requests_total{route=\"" << key.first << "\",code=\"" << key.second << "\"} " << n << "\n";
  out << "# HELP soulbox_gateway_request_seconds Time to answer (streams: until they end).\n"
      << "# TYPE soulbox_gateway_request_seconds histogram\n";
  for (const auto& [family, s] : latency_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.le[i];
      out << "soulbox_gateway_request_seconds_bucket{route=\"" << family << "\",le=\"" << kBuckets[i] << "\"} "
          << cumulative << "\n";
    }
    out << "soulbox_gateway_request_seconds_bucket{route=\"" << family << "\",le=\"+Inf\"} " << s.count << "\n"
        << "soulbox_gateway_request_seconds_sum{route=\"" << family << "\"} " << s.sum << "\n"
        << "soulbox_gateway_request_seconds_count{route=\"" << family << "\"} " << s.count << "\n";
  }
  out << "# HELP soulbox_gateway_requests_in_flight Requests being answered now.\n"
      << "# TYPE soulbox_gateway_requests_in_flight gauge\n"
      << "soulbox_gateway_requests_in_flight " << in_flight.load() << "\n";
  for (const auto& [name, value] : gauges) out << "# TYPE " << name << " gauge\n" << name << " " << value << "\n";
  return out.str();
}

}  // namespace soulbox::gateway
