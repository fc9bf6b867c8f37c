// docs/openapi.json against the gateway's route table (the one its
// dispatcher matches requests with): every route served is documented, and
// everything documented is served.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "gateway/e2b_gateway.h"
#include "gateway/openapi_document.h"
#include "gateway/route_pattern.h"

namespace {

using namespace soulbox::gateway;
using json = nlohmann::json;

std::string upper(std::string s) {
  for (auto& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string listed(const std::set<std::string>& routes) {
  std::string out;
  for (const auto& r : routes) out += "\n  " + r;
  return out;
}

TEST_CASE("the OpenAPI document names exactly the routes the gateway dispatches", "[gateway]") {
  const json doc = json::parse(openapi_document());
  std::set<std::string> documented, served;
  for (const auto& [path, item] : doc.at("paths").items())
    for (const auto& [method, operation] : item.items())
      if (method != "parameters" && method != "summary" && method != "description")
        documented.insert(upper(method) + " " + path);
  for (const auto& r : E2bGateway::routes()) served.insert(r.method + " " + r.pattern);
  std::set<std::string> undocumented, not_served;
  for (const auto& r : served)
    if (!documented.count(r)) undocumented.insert(r);
  for (const auto& r : documented)
    if (!served.count(r)) not_served.insert(r);
  INFO("served, not in docs/openapi.json:" << listed(undocumented));
  INFO("in docs/openapi.json, not served:" << listed(not_served));
  CHECK(undocumented.empty());
  CHECK(not_served.empty());
}

TEST_CASE("route patterns match whole segments and name their parameters", "[gateway]") {
  RouteParams p;
  CHECK(match_pattern("/sandboxes/{sandboxID}/timeout", path_segments("/sandboxes/sb-1/timeout"), p));
  CHECK(p["sandboxID"] == "sb-1");
  CHECK(p.has("sandboxID"));
  CHECK_FALSE(p.has("tenant"));
  CHECK(p["tenant"].empty());
  CHECK(match_pattern("/sandboxes/{sandboxID}", path_segments("//sandboxes/sb-2/"), p));
  CHECK(p["sandboxID"] == "sb-2");
  CHECK_FALSE(match_pattern("/sandboxes/{sandboxID}", path_segments("/sandboxes"), p));
  CHECK_FALSE(match_pattern("/sandboxes/{sandboxID}", path_segments("/sandboxes/a/b"), p));
  CHECK_FALSE(match_pattern("/sandboxes", path_segments("/sandboxesx"), p));
  CHECK(match_pattern("/v1/tenants/{tenant}/keys/{keyID}", path_segments("/v1/tenants/acme/keys/k1"), p));
  CHECK(p["tenant"] == "acme");
  CHECK(p["keyID"] == "k1");
  CHECK(match_pattern("/health", path_segments("/health"), p));
  CHECK_FALSE(p.has("keyID"));  // a match replaces what an earlier one found
}

}  // namespace
