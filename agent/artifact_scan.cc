#include "agent/artifact_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "common/unique_fd.h"

namespace soulbox::agent {
namespace {

constexpr int kMaxDepth = 2;
constexpr size_t kMaxEntries = 2000;

bool skipped(const char* name) {
  return name[0] == '.' || std::strcmp(name, "__pycache__") == 0 || std::strcmp(name, "node_modules") == 0;
}

void scan(int dir_fd, const std::string& path, int depth, DirSnapshot& out) {
  DIR* dir = ::fdopendir(dir_fd);
  if (!dir) {
    ::close(dir_fd);
    return;
  }
  while (const dirent* e = ::readdir(dir)) {
    if (out.size() >= kMaxEntries) break;
    if (skipped(e->d_name)) continue;
    struct stat st {};
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string child = path + "/" + e->d_name;
    if (S_ISREG(st.st_mode)) {
      out[child] = FileMark{uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    } else if (S_ISDIR(st.st_mode) && depth < kMaxDepth) {
      const int sub = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) scan(sub, child, depth + 1, out);
    }
  }
  ::closedir(dir);
}

}  // namespace

DirSnapshot snapshot_dir(const std::string& dir) {
  DirSnapshot out;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) scan(fd, dir == "/" ? "" : dir, 1, out);
  return out;
}

std::vector<ArtifactInfo> changed_files(const DirSnapshot& before, const DirSnapshot& after) {
  std::vector<ArtifactInfo> changed;
  for (const auto& [path, mark] : after) {
    auto it = before.find(path);
    if (it != before.end() && it->second.size == mark.size && it->second.mtime_ns == mark.mtime_ns) continue;
    changed.push_back(ArtifactInfo{path, mime_for(path), mark.size});
  }
  return changed;
}

std::string mime_for(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".svg", "image/svg+xml"},
      {".webp", "image/webp"},
      {".pdf", "application/pdf"},
      {".json", "application/json"},
      {".csv", "text/csv"},
      {".txt", "text/plain"},
      {".md", "text/markdown"},
      {".html", "text/html"},
      {".htm", "text/html"},
      {".xml", "application/xml"},
      {".py", "text/x-python"},
      {".js", "text/javascript"},
      {".sh", "text/x-shellscript"},
      {".rb", "text/x-ruby"},
      {".parquet", "application/vnd.apache.parquet"},
      {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".tar", "application/x-tar"},
  };
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "application/octet-stream";
  std::string ext = path.substr(dot);
  for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, mime] : types)
    if (ext == e) return mime;
  return "application/octet-stream";
}

}  // namespace soulbox::agent
