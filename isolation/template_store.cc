#include "isolation/template_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "isolation/fs_util.h"

namespace soulbox::isolation {
namespace fs = std::filesystem;
namespace {

// Bump when the generated layout of "base" changes.
constexpr int kBaseLayoutVersion = 2;

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "user:x:1000:1000:SoulBox user:/home/user:/bin/bash\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
constexpr const char* kGroup = "root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n";
constexpr const char* kHosts = "127.0.0.1\tlocalhost soulbox\n::1\tlocalhost ip6-localhost\n";
constexpr const char* kNsswitch = "passwd: files\ngroup: files\nshadow: files\nhosts: files\n";

// Host /etc entries copied into the template. Copies cost nothing per
// sandbox, where each bind costs two mount calls; when any of them changes
// on the host (a package install), the template is rebuilt under a new name.
constexpr const char* kEtcCopies[] = {"alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "python3",
                                      "python3.11", "os-release", "localtime", "mime.types", "shells", "bash.bashrc",
                                      "profile", "inputrc", "matplotlibrc", "fonts",
                                      // The JDK's configuration (its conf/ links here: java.security and more).
                                      "java-17-openjdk", "java-21-openjdk"};
// Host paths bound read-only into every sandbox.
constexpr const char* kReadOnlyBinds[] = {"/usr"};
constexpr const char* kDirs[] = {"usr", "etc",     "home", "root", "tmp", "proc", "dev",
                                 "var", "var/tmp", "run",  "opt",  "mnt", "srv"};

// Identifies the host state the template was built from.
std::string host_stamp() {
  std::string key = "layout" + std::to_string(kBaseLayoutVersion);
  for (const char* name : kEtcCopies) {
    struct stat st {};
    const std::string path = std::string("/etc/") + name;
    if (::lstat(path.c_str(), &st) == 0)
      key += ":" + path + "@" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
             std::to_string(st.st_size);
  }
  for (const char* bind : kReadOnlyBinds) key += std::string(":") + bind;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(key));
  return hex;
}

Status build_rootfs(const fs::path& root) {
  std::error_code ec;
  for (const char* d : kDirs) fs::create_directories(root / d, ec);
  if (ec) return Error{ErrorCode::io_error, "create template dirs: " + ec.message()};
  ::chmod((root / "tmp").c_str(), 01777);
  ::chmod((root / "var/tmp").c_str(), 01777);
  // Merged-/usr hosts have /bin -> usr/bin etc.; mirror that, else bind.
  for (const char* top : {"bin", "sbin", "lib", "lib64", "lib32", "libx32"}) {
    const fs::path host = fs::path("/") / top;
    if (!fs::is_symlink(fs::symlink_status(host, ec))) continue;  // absent, or a real dir: bound instead
    fs::create_symlink(fs::read_symlink(host, ec), root / top, ec);
    if (ec) return Error{ErrorCode::io_error, std::string("template symlink ") + top + ": " + ec.message()};
  }
  const fs::path etc = root / "etc";
  for (const auto& [name, text] : {std::pair{"passwd", kPasswd},
                                   {"group", kGroup},
                                   {"hosts", kHosts},
                                   {"nsswitch.conf", kNsswitch},
                                   {"hostname", "soulbox\n"},
                                   {"resolv.conf", ""}}) {
    if (auto st = write_new_file((etc / name).string(), text); !st) return st;
  }
  for (const char* name : kEtcCopies) {
    const fs::path src = fs::path("/etc") / name;
    if (!fs::exists(fs::symlink_status(src, ec))) continue;
    fs::copy(src, etc / name, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return Error{ErrorCode::io_error, "copy " + src.string() + ": " + ec.message()};
  }
  return {};
}

// Non-merged-/usr hosts: their real /bin, /lib... directories are bound too.
std::vector<std::string> read_only_binds() {
  std::vector<std::string> binds(std::begin(kReadOnlyBinds), std::end(kReadOnlyBinds));
  std::error_code ec;
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib64"})
    if (fs::is_directory(fs::symlink_status(top, ec))) binds.emplace_back(top);
  return binds;
}

}  // namespace

TemplateStore::TemplateStore(std::string templates_dir) : dir_(std::move(templates_dir)) {}

// Builds <dir>/rootfs.<stamp> and points template.json at it. Older rootfs.*
// directories stay: running sandboxes may still have them as their lower
// layer.
Status TemplateStore::build_base(const std::string& dir, const std::string& stamp) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path rootfs = fs::path(dir) / ("rootfs." + stamp);
  if (!fs::exists(rootfs, ec)) {
    const fs::path staging = fs::path(dir) / ("building." + std::to_string(::getpid()));
    fs::remove_all(staging, ec);
    if (auto st = build_rootfs(staging); !st) return st;
    for (const auto& bind : read_only_binds()) fs::create_directories(staging / fs::path(bind).relative_path(), ec);
    fs::rename(staging, rootfs, ec);
    if (ec) fs::remove_all(staging, ec);  // a concurrent builder won: use its copy
  }
  nlohmann::json meta = {
      {"name", "base"}, {"stamp", stamp}, {"rootfs", rootfs.filename().string()}, {"binds", nlohmann::json::array()}};
  for (const auto& bind : read_only_binds())
    meta["binds"].push_back({{"host", bind}, {"sandbox", bind}, {"writable", false}});
  const std::string tmp = dir + "/template.json." + std::to_string(::getpid());
  if (auto st = write_new_file(tmp, meta.dump(2) + "\n"); !st) return st;
  if (::rename(tmp.c_str(), (dir + "/template.json").c_str()) != 0)
    return sys_error("install " + dir + "/template.json");
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
  if (name == "base") {
    const std::string stamp = host_stamp();
    if (!meta.is_object() || meta.value("stamp", "") != stamp) {
      if (auto st = build_base(dir, stamp); !st) return st.error();
      return load(name);
    }
  }
  if (!meta_text) return Error{ErrorCode::not_found, "template '" + name + "' not found in " + dir_};
  if (!meta.is_object() || !meta["binds"].is_array() || !meta["rootfs"].is_string())
    return Error{ErrorCode::internal, "template '" + name + "' has a malformed template.json"};
  Template t{name, dir + "/" + meta["rootfs"].get<std::string>(), {}};
  for (const auto& b : meta["binds"])
    t.binds.push_back(BindMount{b.value("host", ""), b.value("sandbox", ""), b.value("writable", false)});
  return t;
}

}  // namespace soulbox::isolation
