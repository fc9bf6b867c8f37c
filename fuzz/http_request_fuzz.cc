// The gateway's reading of an HTTP request before any route sees it: the
// bytes a client sends, parsed with the server's limits (Boost.Beast) and
// converted to an HttpRequest (target split, path percent-decoded, query
// string parsed, header names lower-cased), then the pure helpers routes
// apply to it: numeric query parameters, the metrics' route family, the
// RPC user from `Authorization: Basic`, and envd's home-relative paths.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/e2b_json.h"
#include "gateway/http_metrics.h"
#include "gateway/http_server.h"

namespace gw = soulbox::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  (void)gw::percent_decode(raw);
  auto req = gw::parse_http_request(raw, /*max_body_bytes=*/1 << 20);
  if (!req) return 0;
  for (const auto& [name, value] : req->query) {
    auto number = gw::query_number(*req, name, 0, int64_t(1) << 40);
    if (number && (*number < 0 || *number > (int64_t(1) << 40))) __builtin_trap();
    (void)gw::in_home(gw::rpc_user(req->header("authorization")), value);
  }
  (void)gw::HttpMetrics::route_family(*req);
  return 0;
}
