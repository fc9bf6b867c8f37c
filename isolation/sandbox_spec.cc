#include "isolation/sandbox_spec.h"

#include <unistd.h>

#include <string>

namespace soulbox::isolation {
namespace {

Error invalid(const std::string& message) {
  return Error{ErrorCode::invalid_argument, message};
}

bool absolute_clean_path(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.find('\0') != std::string::npos) return false;
  // Reject "." and ".." components: binds must name their target directly.
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    const std::string part = p.substr(start, end - start);
    if (part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool valid_sandbox_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status validate_spec(const SandboxSpec& spec) {
  const Limits& l = spec.limits;
  static const long cores = sysconf(_SC_NPROCESSORS_ONLN);  // reads /sys: once
  if (!spec.id.empty() && !valid_sandbox_id(spec.id))
    return invalid("sandbox id must be 1-64 characters of [A-Za-z0-9_-], got '" + spec.id + "'");
  if (spec.template_name.empty() || !valid_sandbox_id(spec.template_name))
    return invalid("template name must be 1-64 characters of [A-Za-z0-9_-]");
  if (l.memory_bytes < (16ull << 20) || l.memory_bytes > (1ull << 40))
    return invalid("memory limit must be between 16 MiB and 1 TiB, got " + std::to_string(l.memory_bytes) + " bytes");
  if (!(l.cpus >= 0.01) || l.cpus > double(cores))
    return invalid("cpus must be between 0.01 and " + std::to_string(cores) + " (this host's cores), got " +
                   std::to_string(l.cpus));
  if (l.pids < 8 || l.pids > 65536)
    return invalid("pids limit must be between 8 and 65536, got " + std::to_string(l.pids));
  if (l.disk_bytes < (1ull << 20) || l.disk_bytes > (1ull << 40))
    return invalid("disk limit must be between 1 MiB and 1 TiB");
  if (l.disk_inodes < 1024 || l.disk_inodes > (1ull << 24))
    return invalid("disk inode limit must be between 1024 and 16777216");
  if (l.tmp_bytes < (1ull << 20) || l.tmp_bytes > (1ull << 40))
    return invalid("/tmp size must be between 1 MiB and 1 TiB");
  if (l.tmp_inodes < 256 || l.tmp_inodes > (1ull << 24))
    return invalid("/tmp inode limit must be between 256 and 16777216");
  if (l.ptys < 1 || l.ptys > 1024) return invalid("pty limit must be between 1 and 1024");
  if (l.nofile < 64 || l.nofile > (1u << 20)) return invalid("open-file limit must be between 64 and 1048576");
  if (l.fsize_bytes < 4096 || l.fsize_bytes > (1ull << 42))
    return invalid("file-size limit must be between 4 KiB and 4 TiB");
  if (spec.hostname.empty() || spec.hostname.size() > 63 || !valid_sandbox_id(spec.hostname))
    return invalid("hostname must be 1-63 characters of [A-Za-z0-9_-]");
  for (const auto& b : spec.binds) {
    if (!absolute_clean_path(b.host_path) || !absolute_clean_path(b.sandbox_path))
      return invalid("bind paths must be absolute without '.' or '..': '" + b.host_path + "' -> '" + b.sandbox_path +
                     "'");
    if (b.sandbox_path == "/") return invalid("a bind cannot replace the sandbox root");
    if (access(b.host_path.c_str(), F_OK) != 0) return invalid("bind source does not exist: " + b.host_path);
  }
  return {};
}

}  // namespace soulbox::isolation
