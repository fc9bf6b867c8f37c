#include "isolation/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

#include "common/unique_fd.h"

namespace soulbox::isolation {

Status write_control(const std::string& path, const std::string& value) {
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sys_error("open " + path);
  const ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return sys_error("write '" + value + "' to " + path);
  if (size_t(n) != value.size()) return Error{ErrorCode::io_error, "short write to " + path};
  return {};
}

Result<std::string> read_small_file(const std::string& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open " + path, errno, errno == ENOENT ? ErrorCode::not_found : ErrorCode::io_error);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return sys_error("read " + path, errno, ErrorCode::io_error);
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > (1u << 20)) return Error{ErrorCode::io_error, path + " is larger than 1 MiB"};
  }
  return out;
}

Result<uint64_t> read_u64(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return text.error();
  if (text->rfind("max", 0) == 0) return UINT64_MAX;
  try {
    return uint64_t(std::stoull(*text));
  } catch (...) {
    return Error{ErrorCode::internal, path + " does not hold a number: '" + *text + "'"};
  }
}

Status write_new_file(const std::string& path, const std::string& content, int mode) {
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return sys_error("create " + path);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) return sys_error("write " + path);
    done += size_t(n);
  }
  return {};
}

Status ensure_dir(const std::string& path, int mode) {
  if (::mkdir(path.c_str(), mode_t(mode)) == 0 || errno == EEXIST) return {};
  return sys_error("mkdir " + path);
}

}  // namespace soulbox::isolation
