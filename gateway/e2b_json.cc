#include "gateway/e2b_json.h"

#include <ctime>

namespace soulbox::gateway {

std::string rfc3339(int64_t unix_ms) {
  const time_t secs = time_t(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string rfc3339_ns(int64_t unix_ns) {
  const time_t secs = time_t(unix_ns / 1000000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char date[40], out[80];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(out, sizeof out, "%s.%09lldZ", date, static_cast<long long>(unix_ns % 1000000000));
  return out;
}

namespace {

std::string permissions(const FileInfo& f) {
  std::string p = f.type == agentproto::FileType::Directory ? "d" : f.type == agentproto::FileType::Symlink ? "L" : "-";
  const char* rwx = "rwxrwxrwx";
  for (int bit = 8; bit >= 0; --bit) p.push_back((f.mode >> bit) & 1 ? rwx[8 - bit] : '-');
  return p;
}

std::string account(uint32_t id) {
  if (id == 0) return "root";
  if (id == 1000) return "user";
  return std::to_string(id);
}

}  // namespace

nlohmann::json entry_json(const FileInfo& f) {
  const char* type = f.type == agentproto::FileType::Directory ? "FILE_TYPE_DIRECTORY"
                     : f.type == agentproto::FileType::Symlink ? "FILE_TYPE_SYMLINK"
                     : f.type == agentproto::FileType::File    ? "FILE_TYPE_FILE"
                                                               : "FILE_TYPE_UNSPECIFIED";
  uint32_t mode = f.mode & 0777;
  if (f.type == agentproto::FileType::Directory) mode |= 1u << 31;  // Go's os.ModeDir
  if (f.type == agentproto::FileType::Symlink) mode |= 1u << 27;    // os.ModeSymlink
  nlohmann::json e{{"name", f.name},
                   {"type", type},
                   {"path", f.path},
                   {"size", std::to_string(f.size)},
                   {"mode", mode},
                   {"permissions", permissions(f)},
                   {"owner", account(f.uid)},
                   {"group", account(f.gid)},
                   {"modifiedTime", rfc3339_ns(f.mtime_ns)}};
  if (!f.symlink_target.empty()) e["symlinkTarget"] = f.symlink_target;
  return e;
}

std::string in_home(const std::string& user, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  const std::string home = user == "root" ? "/root" : "/home/user";
  return path.empty() ? home : home + "/" + path;
}

std::string rpc_user(const std::string& authorization) {
  if (authorization.rfind("Basic ", 0) != 0) return "user";
  auto decoded = base64_decode(authorization.substr(6));
  if (!decoded) return "user";
  const std::string user = decoded->substr(0, decoded->find(':'));
  return user.empty() ? "user" : user;
}

namespace {

// E2B's endAt: when a running sandbox expires; for a paused one, when it
// was paused (E2B's "last pause time"; from a node that does not report it,
// its start: never the epoch).
int64_t end_at(const client::SandboxInfo& s) {
  if (s.state != busproto::SandboxState::Paused) return s.expires_unix_ms;
  return s.paused_unix_ms ? s.paused_unix_ms : s.created_unix_ms;
}

}  // namespace

nlohmann::json sandbox_json(const client::SandboxInfo& s, const std::string& envd_version) {
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [k, v] : s.metadata) metadata[k] = v;
  return nlohmann::json{{"sandboxID", s.id},
                        {"templateID", s.template_name},
                        {"clientID", "soulbox"},
                        {"alias", s.template_name},
                        {"metadata", metadata},
                        {"startedAt", rfc3339(s.created_unix_ms)},
                        {"endAt", rfc3339(end_at(s))},
                        {"state", s.state == busproto::SandboxState::Paused ? "paused" : "running"},
                        {"cpuCount", int(s.cpus + 0.5f) > 0 ? int(s.cpus + 0.5f) : 1},
                        {"memoryMB", s.memory_bytes >> 20},
                        {"diskSizeMB", 0},
                        {"envdVersion", envd_version}};
}

}  // namespace soulbox::gateway
