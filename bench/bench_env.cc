#include "bench/bench_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace soulbox::bench {

std::string build_dir() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return std::filesystem::path(std::string(self, size_t(n > 0 ? n : 0))).parent_path().parent_path().string();
}

void fresh_root(const std::string& root) {
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  std::filesystem::create_directories(root);
  ::chmod(root.c_str(), 0755);
}

}  // namespace soulbox::bench
