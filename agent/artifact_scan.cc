#include "agent/artifact_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace soulbox::agent {
namespace {

constexpr int kMaxDepth = 2;
constexpr size_t kMaxEntries = 2000;

bool skipped(const char* name) {
  return name[0] == '.' || std::strcmp(name, "__pycache__") == 0 || std::strcmp(name, "node_modules") == 0;
}

void scan(int dir_fd, const std::string& path, int depth, DirSnapshot& out, std::vector<std::string>* dirs) {
  if (dirs) dirs->push_back(path.empty() ? "/" : path);
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
      if (sub >= 0) scan(sub, child, depth + 1, out, dirs);
    }
  }
  ::closedir(dir);
}

}  // namespace

DirSnapshot snapshot_dir(const std::string& dir, std::vector<std::string>* dirs) {
  DirSnapshot out;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) scan(fd, dir == "/" ? "" : dir, 1, out, dirs);
  return out;
}

ChangeWatch::ChangeWatch() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

void ChangeWatch::watch(const std::vector<std::string>& dirs) {
  if (!fd_) return;
  constexpr uint32_t kEvents = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO |
                               IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  for (const auto& dir : dirs)
    if (::inotify_add_watch(fd_.get(), dir.c_str(), kEvents) < 0 && errno == ENOSPC) fd_.reset();  // out of watches
}

bool ChangeWatch::changed() {
  if (!fd_) return true;
  bool any = false;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      any = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return any || (n < 0 && errno != EAGAIN);  // an error: scan to be safe
  }
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
