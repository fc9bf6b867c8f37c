// soulbox cp [-r] <src> <dst>: one side is "<sandbox-id>:<path>", the other
// a local path; directories with -r.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/soulbox/commands.h"
#include "cli/soulbox/progress_bar.h"

namespace soulbox::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Remote {
  std::string id, path;
};

// "sb-123:/home/user/x" -> {sb-123, /home/user/x}; local paths have no ':'
// before their first '/'.
std::optional<Remote> remote_of(const std::string& arg) {
  const auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0 || arg.find('/') < colon) return std::nullopt;
  return Remote{arg.substr(0, colon), arg.substr(colon + 1)};
}

Result<std::string> read_local(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Error{ErrorCode::not_found, "cannot read " + p.string()};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int upload(Context& c, const fs::path& from, const Remote& to, bool recursive, bool progress) {
  auto box = c.api.open(to.id);
  if (!box) return fail("cp", box.error());
  std::vector<std::pair<fs::path, std::string>> files;  // local, remote
  if (fs::is_directory(from)) {
    if (!recursive) return fail("cp", Error{ErrorCode::invalid_argument, from.string() + " is a directory (use -r)"});
    for (const auto& e : fs::recursive_directory_iterator(from))
      if (e.is_regular_file()) files.emplace_back(e.path(), to.path + "/" + fs::relative(e.path(), from).string());
  } else {
    files.emplace_back(from, to.path.empty() || to.path.back() == '/' ? to.path + from.filename().string() : to.path);
  }
  for (const auto& [local, remote] : files) {
    auto data = read_local(local);
    if (!data) return fail("cp", data.error());
    if (auto st = c.api.upload(*box, remote, *data, progress_bar(local.filename().string(), progress)); !st)
      return fail("cp " + local.string(), st.error());
  }
  if (c.json) std::cout << json{{"copied", files.size()}}.dump() << "\n";
  return 0;
}

int download(Context& c, const Remote& from, const fs::path& to, bool recursive, bool progress) {
  auto box = c.api.open(from.id);
  if (!box) return fail("cp", box.error());
  auto stat = c.api.rpc(*box, "filesystem.Filesystem/Stat", json{{"path", from.path}});
  if (!stat) return fail("cp " + from.path, stat.error());
  std::vector<std::pair<std::string, fs::path>> files;  // remote, local
  if ((*stat)["entry"].value("type", "") == "FILE_TYPE_DIRECTORY") {
    if (!recursive) return fail("cp", Error{ErrorCode::invalid_argument, from.path + " is a directory (use -r)"});
    auto list = c.api.rpc(*box, "filesystem.Filesystem/ListDir", json{{"path", from.path}, {"depth", 32}});
    if (!list) return fail("cp", list.error());
    const std::string base = (*stat)["entry"].value("path", from.path);
    for (const auto& e : (*list).value("entries", json::array()))
      if (e.value("type", "") == "FILE_TYPE_FILE")
        files.emplace_back(e.value("path", ""), to / e.value("path", "").substr(base.size() + 1));
  } else {
    files.emplace_back(from.path, fs::is_directory(to) ? to / fs::path(from.path).filename() : to);
  }
  for (const auto& [remote, local] : files) {
    auto data = c.api.download(*box, remote, progress_bar(local.filename().string(), progress));
    if (!data) return fail("cp " + remote, data.error());
    std::error_code ec;
    if (local.has_parent_path()) fs::create_directories(local.parent_path(), ec);
    std::ofstream out(local, std::ios::binary | std::ios::trunc);
    out << *data;
    if (!out) return fail("cp", Error{ErrorCode::permission_denied, "cannot write " + local.string()});
  }
  if (c.json) std::cout << json{{"copied", files.size()}}.dump() << "\n";
  return 0;
}

}  // namespace

int copy(Context& c, const std::string& from, const std::string& to, bool recursive, bool progress) {
  const auto src = remote_of(from), dst = remote_of(to);
  if (src && dst) return fail("cp", Error{ErrorCode::invalid_argument, "copy between two sandboxes is not supported"});
  if (!src && !dst) return fail("cp", Error{ErrorCode::invalid_argument, "one side must be <sandbox-id>:<path>"});
  return dst ? upload(c, from, *dst, recursive, progress) : download(c, *src, to, recursive, progress);
}

}  // namespace soulbox::cli
