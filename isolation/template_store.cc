#include "isolation/template_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "isolation/fs_util.h"

namespace soulbox::isolation {
namespace fs = std::filesystem;
namespace {

// Bump when the generated layout of "base" changes: older copies are rebuilt.
constexpr int kBaseLayoutVersion = 1;

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "user:x:1000:1000:SoulBox user:/home/user:/bin/bash\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
constexpr const char* kGroup = "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n";
constexpr const char* kHosts = "127.0.0.1\tlocalhost soulbox\n::1\tlocalhost ip6-localhost\n";
constexpr const char* kNsswitch = "passwd: files\ngroup: files\nshadow: files\nhosts: files\n";

// Host /etc entries copied into the template (small, rarely changing).
constexpr const char* kEtcCopies[] = {"python3",  "python3.11",   "ld.so.conf", "ld.so.conf.d",
                                      "os-release", "localtime", "mime.types", "shells",
                                      "bash.bashrc", "profile", "inputrc"};
// Host paths bound read-only (kept live: library caches and alternatives
// change when the host installs packages).
constexpr const char* kReadOnlyBinds[] = {"/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ssl"};
constexpr const char* kDirs[] = {"usr", "etc", "home", "root", "tmp", "proc", "dev", "var", "var/tmp",
                                 "run", "opt", "mnt", "srv"};

Status build_rootfs(const fs::path& root) {
  std::error_code ec;
  for (const char* d : kDirs) fs::create_directories(root / d, ec);
  if (ec) return Error{ErrorCode::io_error, "create template dirs: " + ec.message()};
  ::chmod((root / "tmp").c_str(), 01777);
  ::chmod((root / "var/tmp").c_str(), 01777);
  // Merged-/usr hosts have /bin -> usr/bin etc.; mirror that, else bind.
  for (const char* top : {"bin", "sbin", "lib", "lib64", "lib32", "libx32"}) {
    const fs::path host = fs::path("/") / top;
    if (!fs::is_symlink(fs::symlink_status(host, ec))) continue;  // absent, or a real dir: bind it instead
    fs::create_symlink(fs::read_symlink(host, ec), root / top, ec);
    if (ec) return Error{ErrorCode::io_error, std::string("template symlink ") + top + ": " + ec.message()};
  }
  const fs::path etc = root / "etc";
  for (const auto& [name, text] : {std::pair{"passwd", kPasswd}, {"group", kGroup}, {"hosts", kHosts},
                                   {"nsswitch.conf", kNsswitch}, {"hostname", "soulbox\n"},
                                   {"resolv.conf", ""}}) {
    if (auto st = write_new_file((etc / name).string(), text); !st) return st;
  }
  for (const char* name : kEtcCopies) {
    const fs::path src = fs::path("/etc") / name;
    if (!fs::exists(fs::symlink_status(src, ec))) continue;
    fs::copy(src, etc / name, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return Error{ErrorCode::io_error, "copy " + src.string() + ": " + ec.message()};
  }
  // Mount points for the read-only binds.
  for (const char* bind : kReadOnlyBinds) {
    const fs::path target = root / fs::path(bind).relative_path();
    if (fs::is_directory(bind, ec)) fs::create_directories(target, ec);
    else if (fs::exists(bind, ec) && !fs::exists(target, ec)) (void)write_new_file(target.string(), "");
  }
  return {};
}

}  // namespace

TemplateStore::TemplateStore(std::string templates_dir) : dir_(std::move(templates_dir)) {}

Status TemplateStore::build_base(const std::string& dir) {
  std::error_code ec;
  const fs::path staging = dir + ".building." + std::to_string(::getpid());
  fs::remove_all(staging, ec);
  fs::create_directories(staging / "rootfs", ec);
  if (ec) return Error{ErrorCode::io_error, "create " + staging.string() + ": " + ec.message()};
  if (auto st = build_rootfs(staging / "rootfs"); !st) return st;
  nlohmann::json meta = {{"name", "base"}, {"layout_version", kBaseLayoutVersion}, {"binds", nlohmann::json::array()}};
  for (const char* bind : kReadOnlyBinds)
    if (fs::exists(bind, ec)) meta["binds"].push_back({{"host", bind}, {"sandbox", bind}, {"writable", false}});
  if (auto st = write_new_file((staging / "template.json").string(), meta.dump(2) + "\n"); !st) return st;
  // Replace atomically; a concurrent builder that won the race is fine.
  const fs::path old = dir + ".old." + std::to_string(::getpid());
  fs::rename(dir, old, ec);
  fs::rename(staging, dir, ec);
  if (ec && !fs::exists(fs::path(dir) / "template.json")) return Error{ErrorCode::io_error, "install " + dir + ": " + ec.message()};
  fs::remove_all(staging, ec);
  fs::remove_all(old, ec);
  return {};
}

Result<Template> TemplateStore::get(const std::string& name) {
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  auto loaded = load(name);
  if (loaded) cache_[name] = *loaded;
  return loaded;
}

Result<Template> TemplateStore::load(const std::string& name) {
  if (!valid_sandbox_id(name)) return Error{ErrorCode::invalid_argument, "invalid template name '" + name + "'"};
  const std::string dir = dir_ + "/" + name;
  auto meta_text = read_small_file(dir + "/template.json");
  nlohmann::json meta = meta_text ? nlohmann::json::parse(*meta_text, nullptr, false) : nlohmann::json();
  const bool stale_base =
      name == "base" && (!meta.is_object() || meta.value("layout_version", 0) != kBaseLayoutVersion);
  if (stale_base) {
    if (auto st = ensure_dir(dir_); !st) return st.error();
    if (auto st = build_base(dir); !st) return st.error();
    return load(name);
  }
  if (!meta_text) return Error{ErrorCode::not_found, "template '" + name + "' not found in " + dir_};
  if (!meta.is_object() || !meta.contains("binds") || !meta["binds"].is_array())
    return Error{ErrorCode::internal, "template '" + name + "' has a malformed template.json"};
  Template t{name, dir + "/rootfs", {}};
  for (const auto& b : meta["binds"])
    t.binds.push_back(BindMount{b.value("host", ""), b.value("sandbox", ""), b.value("writable", false)});
  return t;
}

}  // namespace soulbox::isolation
