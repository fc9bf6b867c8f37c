// soulbox cp <id>:<path> <local>: a file, or with -r a directory tree as
// the sandbox lists it: directories (empty ones too), files with their exec
// bits, symlinks recreated as symlinks. What the sandbox lists is not
// trusted: an entry outside the copied directory is refused, symlinks are
// made only after every file is written, and nothing is ever written
// through a symlink below the destination (one a hostile listing or an
// earlier copy made would send the next write anywhere on this machine).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/soulbox/copy_transfers.h"
#include "cli/soulbox/progress_bar.h"

namespace soulbox::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct RemoteFile {
  std::string remote;
  std::string rel;  // below the local root
  uint64_t size = 0;
  uint32_t mode = 0;
};

struct DownloadPlan {
  fs::path root;
  std::vector<std::string> dirs;  // rel, each after its parent
  std::vector<RemoteFile> files;
  std::vector<std::pair<std::string, std::string>> links;  // rel, target
  size_t skipped = 0;
};

uint64_t size_of(const json& entry) {
  const std::string s = entry.value("size", "0");
  return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 10);
}

// Whether `rel` below `root` can be written without going through a
// symlink: none of its parents (below `root`) is one.
bool parents_are_real(const fs::path& root, const std::string& rel) {
  fs::path at = root;
  const fs::path parent = fs::path(rel).parent_path();
  for (const auto& part : parent) {
    at /= part;
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(at, ec))) return false;
  }
  return true;
}

// `entry` of the listing under `base` into the plan; an error for an entry
// the listing had no business naming.
Status plan_entry(const json& entry, const std::string& base, DownloadPlan& plan) {
  const std::string path = entry.value("path", "");
  const auto rel = listed_under(base, path);
  if (!rel) return Error{ErrorCode::protocol_error, "the sandbox listed " + path + " as inside " + base + ": refused"};
  const std::string type = entry.value("type", "");
  if (type == "FILE_TYPE_DIRECTORY")
    plan.dirs.push_back(*rel);
  else if (type == "FILE_TYPE_FILE")
    plan.files.push_back({path, *rel, size_of(entry), entry.value("mode", 0u)});
  else if (type == "FILE_TYPE_SYMLINK")
    plan.links.emplace_back(*rel, entry.value("symlinkTarget", ""));
  return {};
}

Status make_dirs(DownloadPlan& plan) {
  std::error_code ec;
  fs::create_directories(plan.root, ec);
  if (ec) return Error{ErrorCode::permission_denied, "cannot create " + plan.root.string() + ": " + ec.message()};
  for (const auto& rel : plan.dirs) {
    const fs::path dir = plan.root / rel;
    if (!parents_are_real(plan.root, rel) || fs::is_symlink(fs::symlink_status(dir, ec))) {
      warn("cp", "skipping " + dir.string() + ": a symlink is in the way (not followed)");
      ++plan.skipped;
      continue;
    }
    fs::create_directory(dir, ec);
    if (ec) return Error{ErrorCode::permission_denied, "cannot create " + dir.string() + ": " + ec.message()};
  }
  return {};
}

mode_t current_umask() {
  const mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

// The file's bytes at `local`; below the destination (`below`) a symlink
// there is replaced rather than written through (the destination itself is
// the user's to name, a link included, as with cp). Its exec bits as the
// sandbox has them, less the umask.
Status write_local(const fs::path& local, bool below, const std::string& data, uint32_t mode) {
  std::error_code ec;
  if (below && fs::is_symlink(fs::symlink_status(local, ec))) fs::remove(local, ec);
  std::ofstream out(local, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) return Error{ErrorCode::permission_denied, "cannot write " + local.string()};
  const auto exec_bits = fs::perms(mode & 0111 & ~current_umask());
  if (exec_bits != fs::perms::none) fs::permissions(local, exec_bits, fs::perm_options::add, ec);
  return {};
}

Status fetch_files(Context& c, const ApiClient::Sandbox& box, DownloadPlan& plan, bool progress) {
  for (const auto& f : plan.files) {
    const fs::path local = f.rel.empty() ? plan.root : plan.root / f.rel;
    if (!parents_are_real(plan.root, f.rel)) {
      warn("cp", "skipping " + local.string() + ": a symlink is in the way (not followed)");
      ++plan.skipped;
      continue;
    }
    auto data = c.api.download(box, f.remote, f.size, progress_bar(local.filename().string(), progress));
    if (!data) return Error{data.error().code, f.remote + ": " + data.error().message};
    if (auto st = write_local(local, !f.rel.empty(), *data, f.mode); !st) return st;
  }
  return {};
}

// Last, so no file is written through a link made here. An existing
// symlink is replaced; anything else there is left alone.
void make_links(DownloadPlan& plan) {
  for (const auto& [rel, target] : plan.links) {
    const fs::path link = rel.empty() ? plan.root : plan.root / rel;
    std::error_code ec;
    const auto there = fs::symlink_status(link, ec);
    if (!parents_are_real(plan.root, rel) || (fs::exists(there) && !fs::is_symlink(there))) {
      warn("cp", "skipping symlink " + link.string() + ": something else is in the way");
      ++plan.skipped;
      continue;
    }
    if (fs::is_symlink(there)) fs::remove(link, ec);
    fs::create_symlink(target, link, ec);
    if (ec) {
      warn("cp", "skipping symlink " + link.string() + ": " + ec.message());
      ++plan.skipped;
    }
  }
}

// The tree under the directory `entry` (its Stat), to plan.root.
Status plan_tree(Context& c, const ApiClient::Sandbox& box, const json& entry, DownloadPlan& plan) {
  const std::string base = entry.value("path", "");
  auto list = c.api.rpc(box, "filesystem.Filesystem/ListDir", json{{"path", base}, {"depth", 32}});
  if (!list) return list.error();
  for (const auto& e : (*list).value("entries", json::array()))
    if (auto ok = plan_entry(e, base, plan); !ok) return ok;
  return {};
}

}  // namespace

int copy_down(Context& c, const Remote& from, const std::string& to, bool recursive, bool progress) {
  if (auto ok = check_remote_path(from.path); !ok) return fail("cp", ok.error());
  auto box = c.api.open(from.id);
  if (!box) return fail("cp", box.error());
  auto stat = c.api.stat(*box, from.path);
  if (!stat) return fail("cp " + from.path, stat.error());
  const std::string type = stat->value("type", "");
  const bool dir = type == "FILE_TYPE_DIRECTORY";
  if (dir && !recursive) return fail("cp", Error{ErrorCode::invalid_argument, from.path + " is a directory (use -r)"});
  DownloadPlan plan;
  // Inside an existing directory, under its own name (as POSIX cp).
  plan.root = fs::is_directory(to) ? fs::path(to) / copy_name(stat->value("path", from.path)) : fs::path(to);
  Status planned;
  if (dir)
    planned = plan_tree(c, *box, *stat, plan);
  else if (type == "FILE_TYPE_SYMLINK" && recursive)  // -r copies a symlink as one, as cp -r does
    plan.links.emplace_back("", stat->value("symlinkTarget", ""));
  else  // a symlink without -r is followed: the sandbox reads what it points at
    plan.files.push_back({from.path, "", type == "FILE_TYPE_FILE" ? size_of(*stat) : 0, stat->value("mode", 0u)});
  if (!planned) return fail("cp", planned.error());
  std::error_code ec;
  if (!dir && plan.root.has_parent_path()) fs::create_directories(plan.root.parent_path(), ec);
  if (dir)
    if (auto made = make_dirs(plan); !made) return fail("cp", made.error());
  if (auto fetched = fetch_files(c, *box, plan, progress); !fetched) return fail("cp", fetched.error());
  make_links(plan);
  if (c.json)
    std::cout
        << json{{"copied", plan.files.size()}, {"directories", plan.dirs.size()}, {"skipped", plan.skipped}}.dump()
        << "\n";
  return 0;
}

}  // namespace soulbox::cli
