// soulbox cp <local> <id>:<path>: files through the gateway's /files,
// directories (empty ones too) through filesystem.Filesystem/MakeDir.
// Symlinks are not followed, on the command line either (with -r), as
// `cp -r` and `tar` do not: following one would send whatever it points at,
// anywhere on this machine. The files API cannot make a symlink, so each is
// skipped with a warning naming it. Files land 0644: the API sets no mode.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/soulbox/copy_transfers.h"
#include "cli/soulbox/progress_bar.h"

namespace soulbox::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct UploadPlan {
  std::vector<std::string> dirs;                        // remote, each after its parent
  std::vector<std::pair<fs::path, std::string>> files;  // local, remote
  std::vector<std::string> skipped;                     // local
};

void skip(UploadPlan& plan, const fs::path& local, const std::string& why) {
  warn("cp", "skipping " + why);
  plan.skipped.push_back(local.string());
}

// Puts the entry at `local` (of status `st`, not followed) into the plan.
Status plan_entry(const fs::path& local, const fs::file_status& st, const std::string& remote, UploadPlan& plan) {
  if (auto ok = check_remote_path(remote); !ok) return ok;
  if (fs::is_symlink(st)) {
    std::error_code ec;
    const auto target = fs::read_symlink(local, ec);
    skip(plan, local,
         "symlink " + local.string() + " (-> " + target.string() + "): the files API cannot create symlinks");
  } else if (fs::is_directory(st)) {
    plan.dirs.push_back(remote);
  } else if (fs::is_regular_file(st)) {
    plan.files.emplace_back(local, remote);
  } else {
    skip(plan, local, local.string() + ": not a regular file, directory or symlink");
  }
  return {};
}

// `from` and, when it is a directory, everything under it, to `root`.
Result<UploadPlan> plan_tree(const fs::path& from, const fs::file_status& st, const std::string& root) {
  UploadPlan plan;
  if (auto ok = plan_entry(from, st, root, plan); !ok) return ok.error();
  if (!fs::is_directory(st)) return plan;
  std::error_code ec;
  // directory_options::none: a symlink to a directory is an entry, not descended into.
  for (fs::recursive_directory_iterator it(from, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code st_ec;
    const auto entry_st = it->symlink_status(st_ec);
    if (st_ec) return Error{ErrorCode::not_found, "cannot read " + it->path().string() + ": " + st_ec.message()};
    const std::string rel = it->path().lexically_relative(from).generic_string();
    if (auto ok = plan_entry(it->path(), entry_st, remote_join(root, rel), plan); !ok) return ok.error();
  }
  if (ec) return Error{ErrorCode::permission_denied, "cannot read " + from.string() + ": " + ec.message()};
  return plan;
}

// Where `from` goes for destination `dest`: inside it when it is an existing
// directory (as POSIX cp), else `dest` itself.
Result<std::string> destination(Context& c, const ApiClient::Sandbox& box, const fs::path& from, bool from_dir,
                                const std::string& dest) {
  auto st = c.api.stat(box, dest);
  if (!st && st.error().code != ErrorCode::not_found) return st.error();
  const bool exists = st.ok(), is_dir = exists && (*st).value("type", "") == "FILE_TYPE_DIRECTORY";
  if (is_dir || (!exists && !from_dir && !dest.empty() && dest.back() == '/'))
    return remote_join(dest, copy_name(from.string()));
  if (exists && from_dir)
    return Error{ErrorCode::already_exists, "cannot copy directory " + from.string() + " over non-directory " + dest};
  return dest;
}

Result<std::string> read_local(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Error{ErrorCode::not_found, "cannot read " + p.string()};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int send(Context& c, const ApiClient::Sandbox& box, const UploadPlan& plan, bool progress) {
  for (const auto& dir : plan.dirs)
    if (auto made = c.api.make_dir(box, dir); !made) return fail("cp: mkdir " + dir, made.error());
  for (const auto& [local, remote] : plan.files) {
    auto data = read_local(local);
    if (!data) return fail("cp", data.error());
    if (auto st = c.api.upload(box, remote, *data, progress_bar(local.filename().string(), progress)); !st)
      return fail("cp " + local.string(), st.error());
  }
  if (c.json)
    std::cout
        << json{{"copied", plan.files.size()}, {"directories", plan.dirs.size()}, {"skipped", plan.skipped}}.dump()
        << "\n";
  return 0;
}

}  // namespace

int copy_up(Context& c, const std::string& from, const Remote& to, bool recursive, bool progress) {
  if (auto ok = check_remote_path(to.path); !ok) return fail("cp", ok.error());
  std::error_code ec;
  // Without -r a symlink on the command line is followed, as cp does.
  const auto st = recursive ? fs::symlink_status(from, ec) : fs::status(from, ec);
  if (ec || !fs::exists(st)) return fail("cp", Error{ErrorCode::not_found, "cannot read " + from});
  if (fs::is_directory(st) && !recursive)
    return fail("cp", Error{ErrorCode::invalid_argument, from + " is a directory (use -r)"});
  auto box = c.api.open(to.id);
  if (!box) return fail("cp", box.error());
  auto root = destination(c, *box, from, fs::is_directory(st), to.path);
  if (!root) return fail("cp", root.error());
  auto plan = plan_tree(from, st, *root);
  if (!plan) return fail("cp", plan.error());
  return send(c, *box, *plan, progress);
}

}  // namespace soulbox::cli
