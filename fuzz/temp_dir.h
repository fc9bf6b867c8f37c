// A fresh directory for a fuzz target's files, under $TMPDIR (fuzz/run.sh
// points it at a directory it removes afterwards, even after a crash).
#pragma once
#include <cstdlib>
#include <string>

namespace soulbox_fuzz {

inline std::string temp_dir(const std::string& what) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/soulbox-fuzz-" + what + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) std::abort();
  return pattern;
}

}  // namespace soulbox_fuzz
