// Where `soulbox cp` puts each entry it copies, and the checks that keep
// every one inside the destination. The sandbox resolves ".." in the paths
// it is given, so a computed remote path holding one could name any file
// there: such a path is refused, never sent.
#pragma once
#include <optional>
#include <string>

#include "common/result.h"

namespace soulbox::cli {

struct Remote {
  std::string id, path;
};

// "sb-123:/home/user/x" -> {sb-123, /home/user/x}; local paths have no ':'
// before their first '/'.
std::optional<Remote> remote_of(const std::string& arg);

// An error naming `path` when one of its components is "..".
Status check_remote_path(const std::string& path);

// `dir` + "/" + `rel` (both '/'-separated), one slash between them; `rel`
// alone when `dir` is empty (the home directory).
std::string remote_join(std::string dir, const std::string& rel);

// The name a copy of `source` takes inside an existing directory, as POSIX
// cp gives it: its last component; "" for ".", ".." and "/" (their contents
// go into the directory itself).
std::string copy_name(const std::string& source);

// `path`, which a sandbox listed under directory `base`, relative to `base`;
// nothing when it is not under `base` or has an empty, "." or ".."
// component (a listing that would put a file outside the destination).
std::optional<std::string> listed_under(const std::string& base, const std::string& path);

}  // namespace soulbox::cli
