// Route patterns: a path whose `{name}` segments match any one segment
// ("/sandboxes/{sandboxID}/timeout"), as OpenAPI writes them. The gateway's
// route table is made of these, so docs/openapi.json can be compared with
// what is served.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace soulbox::gateway {

// "/sandboxes/<id>/timeout" -> {"sandboxes", "<id>", "timeout"}; empty
// segments (a doubled or trailing '/') are skipped.
std::vector<std::string> path_segments(std::string_view path);

// The values a matched pattern's {name} segments took.
class RouteParams {
 public:
  void add(std::string name, std::string value) { values_.emplace_back(std::move(name), std::move(value)); }
  bool has(std::string_view name) const;
  const std::string& operator[](std::string_view name) const;  // "" when the pattern has no such segment

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// Whether `segments` (of a request's path) fit `pattern`; the {name}
// segments' values go to `params`.
bool match_pattern(std::string_view pattern, const std::vector<std::string>& segments, RouteParams& params);

}  // namespace soulbox::gateway
