// Artifacts of a code cell: the files under the context's working directory
// that are new or changed since the last look. A bounded scan (depth and
// entry count) so a cell that unpacks a huge tree costs little.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace soulbox::agent {

struct FileMark {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
using DirSnapshot = std::map<std::string, FileMark>;  // absolute path -> mark

struct ArtifactInfo {
  std::string path;
  std::string mime;
  uint64_t size = 0;
};

// Regular files under `dir` up to two levels down, at most 2000; hidden
// names, __pycache__ and node_modules skipped. `dirs` (optional) gets the
// directories looked into.
DirSnapshot snapshot_dir(const std::string& dir, std::vector<std::string>* dirs = nullptr);

// Tells whether anything changed under a directory since the last look, so
// a cell that touched no file costs no scan (inotify on the directory and
// the subdirectories a scan went into; without inotify, always "changed").
class ChangeWatch {
 public:
  ChangeWatch();
  // Watches these directories (again: a no-op for those watched already).
  void watch(const std::vector<std::string>& dirs);
  // True when events came since the last call (they are consumed).
  bool changed();

 private:
  unique_fd fd_;
};
// Files in `after` that are absent from `before` or differ in size or mtime.
std::vector<ArtifactInfo> changed_files(const DirSnapshot& before, const DirSnapshot& after);
// A MIME type from the file name's extension (application/octet-stream else).
std::string mime_for(const std::string& path);

}  // namespace soulbox::agent
