#include "gateway/route_pattern.h"

namespace soulbox::gateway {

std::vector<std::string> path_segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool RouteParams::has(std::string_view name) const {
  for (const auto& [n, v] : values_)
    if (n == name) return true;
  return false;
}

const std::string& RouteParams::operator[](std::string_view name) const {
  static const std::string none;
  for (const auto& [n, v] : values_)
    if (n == name) return v;
  return none;
}

bool match_pattern(std::string_view pattern, const std::vector<std::string>& segments, RouteParams& params) {
  const auto want = path_segments(pattern);
  if (want.size() != segments.size()) return false;
  RouteParams found;
  for (size_t i = 0; i < want.size(); ++i) {
    const std::string& w = want[i];
    if (w.size() > 2 && w.front() == '{' && w.back() == '}')
      found.add(w.substr(1, w.size() - 2), segments[i]);
    else if (w != segments[i])
      return false;
  }
  params = std::move(found);
  return true;
}

}  // namespace soulbox::gateway
