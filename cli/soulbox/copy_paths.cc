#include "cli/soulbox/copy_paths.h"

#include <vector>

namespace soulbox::cli {
namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1)
    out.push_back(path.substr(start, slash - start));
  out.push_back(path.substr(start));
  return out;
}

}  // namespace

std::optional<Remote> remote_of(const std::string& arg) {
  const auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0 || arg.find('/') < colon) return std::nullopt;
  return Remote{arg.substr(0, colon), arg.substr(colon + 1)};
}

Status check_remote_path(const std::string& path) {
  for (const auto& c : components(path))
    if (c == "..")
      return Error{ErrorCode::invalid_argument,
                   "refusing " + path + ": a '..' in it would let the copy leave its destination"};
  return {};
}

std::string remote_join(std::string dir, const std::string& rel) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return rel;
  return dir == "/" ? "/" + rel : dir + "/" + rel;
}

std::string copy_name(const std::string& source) {
  std::string s = source;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  const std::string last = s.substr(s.rfind('/') == std::string::npos ? 0 : s.rfind('/') + 1);
  return last == "." || last == ".." || last == "/" ? "" : last;
}

std::optional<std::string> listed_under(const std::string& base, const std::string& path) {
  const std::string prefix = base.empty() || base.back() != '/' ? base + "/" : base;
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string rel = path.substr(prefix.size());
  for (const auto& c : components(rel))
    if (c.empty() || c == "." || c == "..") return std::nullopt;
  return rel;
}

}  // namespace soulbox::cli
