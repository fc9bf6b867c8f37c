#include "agent/file_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "agent/replies.h"
#include "agent/sandbox_paths.h"
#include "agent/users.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {

struct Request {
  UserIdentity user;
  std::string path;
};

// Common front half of every file request: identity and absolute path.
Result<Request> prepare(const flatbuffers::String* user_name, const flatbuffers::String* path) {
  auto user = lookup_user(user_name ? user_name->str() : "");
  if (!user) return Error{ErrorCode::invalid_argument, "unknown user (use 'user' or 'root')"};
  if (!path) return Error{ErrorCode::invalid_argument, "path is missing"};
  auto abs = absolute_path(path->str(), *user);
  if (!abs) return abs.error();
  return Request{*user, std::move(*abs)};
}

Error errno_error(const std::string& what, int err = errno) {
  return sys_error(what, err, code_for_errno(err));
}

ap::FileType file_type(mode_t mode) {
  if (S_ISREG(mode)) return ap::FileType::File;
  if (S_ISDIR(mode)) return ap::FileType::Directory;
  if (S_ISLNK(mode)) return ap::FileType::Symlink;
  return ap::FileType::Other;
}

flatbuffers::Offset<ap::FileEntry> make_entry(flatbuffers::FlatBufferBuilder& fbb, const std::string& name,
                                              const std::string& path, const struct stat& st,
                                              const std::string& link_target) {
  return ap::CreateFileEntry(fbb, fbb.CreateString(name), fbb.CreateString(path), file_type(st.st_mode),
                             uint64_t(st.st_size), st.st_mode & 07777,
                             int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, st.st_uid, st.st_gid,
                             link_target.empty() ? 0 : fbb.CreateString(link_target));
}

std::string read_link_at(int dirfd, const char* name) {
  char buf[4096];
  const ssize_t n = ::readlinkat(dirfd, name, buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// Removes a directory tree without following symlinks.
int remove_tree(int parent, const std::string& name) {
  if (::unlinkat(parent, name.c_str(), 0) == 0) return 0;
  if (errno != EISDIR && errno != EPERM) return errno;
  unique_fd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return errno;
  DIR* d = ::fdopendir(::dup(dir.get()));
  if (!d) return errno;
  std::vector<std::string> children;
  while (auto* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) children.emplace_back(e->d_name);
  ::closedir(d);
  for (const auto& child : children)
    if (int err = remove_tree(dir.get(), child)) return err;
  return ::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 ? 0 : errno;
}

// Stops (and says so through *truncated) at kMaxListEntries or when the
// reply would grow past ~2 MiB, so it always fits in one frame.
void list_dir(flatbuffers::FlatBufferBuilder& fbb, std::vector<flatbuffers::Offset<ap::FileEntry>>& out, int dirfd,
              const std::string& path, uint32_t depth, bool* truncated) {
  DIR* d = ::fdopendir(::dup(dirfd));
  if (!d) return;
  while (auto* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (out.size() >= FileService::kMaxListEntries || fbb.GetSize() > (2u << 20)) {
      *truncated = true;
      break;
    }
    struct stat st {};
    if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string child = (path == "/" ? "" : path) + "/" + e->d_name;
    out.push_back(make_entry(fbb, e->d_name, child, st, S_ISLNK(st.st_mode) ? read_link_at(dirfd, e->d_name) : ""));
    if (depth > 1 && S_ISDIR(st.st_mode)) {
      unique_fd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) list_dir(fbb, out, sub.get(), child, depth - 1, truncated);
    }
  }
  ::closedir(d);
}

}  // namespace

FileService::~FileService() {
  for (auto& [id, w] : writes_) ::unlinkat(w.parent.get(), w.temp_name.c_str(), 0);
}

void FileService::read(uint64_t id, const ap::FileRead& req) {
  auto r = prepare(req.user(), req.path());
  if (!r) return reply_error(channel_, id, r.error().code, r.error().message);
  FsIdentity as_user(r->user);
  unique_fd fd(open_in_root(r->path, O_RDONLY | O_NOCTTY | O_NONBLOCK));
  if (!fd) return reply_error(channel_, id, code_for_errno(errno), errno_error("open " + r->path).message);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return reply_error(channel_, id, code_for_errno(errno), std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return reply_error(channel_, id, ErrorCode::is_a_directory, r->path + " is a directory");
  if (!S_ISREG(st.st_mode))
    return reply_error(channel_, id, ErrorCode::invalid_argument, r->path + " is not a regular file");
  if (req.offset() && ::lseek(fd.get(), off_t(req.offset()), SEEK_SET) < 0)
    return reply_error(channel_, id, ErrorCode::invalid_argument, "bad offset");
  reads_.push_back(PendingRead{id, std::move(fd), req.length() ? req.length() : UINT64_MAX});
  pump_reads();
}

void FileService::pump_reads() {
  std::vector<char> buf(kChunkBytes);
  while (!reads_.empty() && !channel_.congested()) {
    PendingRead& r = reads_.front();
    const size_t want = size_t(std::min<uint64_t>(kChunkBytes, r.remaining));
    const ssize_t n = want ? ::read(r.fd.get(), buf.data(), want) : 0;
    if (n < 0) {
      reply_error(channel_, r.id, ErrorCode::io_error, std::string("read: ") + std::strerror(errno));
      reads_.pop_front();
      continue;
    }
    r.remaining -= uint64_t(n);
    const bool eof = n == 0 || r.remaining == 0;
    send_frame(channel_, r.id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>(buf.data()), size_t(n));
      return std::make_pair(ap::Body::FileChunk, ap::CreateFileChunk(fbb, data, eof).Union());
    });
    if (eof) reads_.pop_front();
  }
}

void FileService::abort_write(uint64_t id) {
  auto it = writes_.find(id);
  if (it == writes_.end()) return;
  ::unlinkat(it->second.parent.get(), it->second.temp_name.c_str(), 0);
  writes_.erase(it);
}

void FileService::fail_write(uint64_t id, bool final, ErrorCode code, const std::string& message) {
  abort_write(id);
  if (!final && failed_writes_.size() < 1024) failed_writes_.insert(id);
  reply_error(channel_, id, code, message);
}

void FileService::write(uint64_t id, const ap::FileWrite& req) {
  if (failed_writes_.count(id)) {
    if (req.final()) failed_writes_.erase(id);
    return;
  }
  const bool final = req.final();
  auto user = lookup_user(req.user() ? req.user()->str() : "");
  if (!user) return fail_write(id, final, ErrorCode::invalid_argument, "unknown user (use 'user' or 'root')");
  FsIdentity as_user(*user);
  auto it = writes_.find(id);
  if (it == writes_.end()) {
    if (!req.path())
      return fail_write(id, final, ErrorCode::invalid_argument, "the first frame of a write needs a path");
    if (writes_.size() >= kMaxPendingWrites)
      return fail_write(id, final, ErrorCode::resource_exhausted, "too many writes in progress");
    auto abs = absolute_path(req.path()->str(), *user);
    if (!abs) return fail_write(id, final, abs.error().code, abs.error().message);
    if (req.make_parents()) {
      const std::string dir = abs->substr(0, abs->rfind('/'));
      if (!dir.empty())
        if (auto st = make_dirs(dir, 0755); !st) return fail_write(id, final, st.error().code, st.error().message);
    }
    auto parent = open_parent(*abs);
    if (!parent) return fail_write(id, final, parent.error().code, parent.error().message);
    PendingWrite w{unique_fd(), std::move(parent->parent), "." + parent->name + ".soulbox-" + std::to_string(id),
                   parent->name, req.mode() & 07777};
    w.fd.reset(
        ::openat(w.parent.get(), w.temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!w.fd) return fail_write(id, final, code_for_errno(errno), errno_error("create " + *abs).message);
    it = writes_.emplace(id, std::move(w)).first;
  }
  PendingWrite& w = it->second;
  if (req.data()) {
    const auto* data = req.data()->data();
    size_t done = 0;
    while (done < req.data()->size()) {
      const ssize_t n = ::write(w.fd.get(), data + done, req.data()->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        return fail_write(id, final, code_for_errno(err), std::string("write: ") + std::strerror(err));
      }
      done += size_t(n);
    }
  }
  if (!final) return;
  // Commit: mode, then an atomic rename over the target.
  if (::fchmod(w.fd.get(), w.mode) != 0 ||
      ::renameat(w.parent.get(), w.temp_name.c_str(), w.parent.get(), w.name.c_str()) != 0) {
    const int err = errno;
    return fail_write(id, true, code_for_errno(err), std::string("commit write: ") + std::strerror(err));
  }
  writes_.erase(it);
  reply_ok(channel_, id);
}

void FileService::list(uint64_t id, const ap::FileList& req) {
  auto r = prepare(req.user(), req.path());
  if (!r) return reply_error(channel_, id, r.error().code, r.error().message);
  FsIdentity as_user(r->user);
  unique_fd dir(open_in_root(r->path, O_RDONLY | O_DIRECTORY));
  if (!dir) return reply_error(channel_, id, code_for_errno(errno), errno_error("open directory " + r->path).message);
  const uint32_t depth = std::min<uint32_t>(std::max<uint32_t>(req.depth(), 1), 32);
  send_frame(channel_, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<ap::FileEntry>> entries;
    bool truncated = false;
    list_dir(fbb, entries, dir.get(), r->path, depth, &truncated);
    return std::make_pair(ap::Body::FileListReply,
                          ap::CreateFileListReply(fbb, fbb.CreateVector(entries), truncated).Union());
  });
}

void FileService::stat(uint64_t id, const ap::FileStat& req) {
  auto r = prepare(req.user(), req.path());
  if (!r) return reply_error(channel_, id, r.error().code, r.error().message);
  FsIdentity as_user(r->user);
  unique_fd fd(open_in_root(r->path, O_PATH | O_NOFOLLOW));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0)
    return reply_error(channel_, id, code_for_errno(errno), errno_error("stat " + r->path).message);
  const std::string name = r->path.substr(r->path.rfind('/') + 1);
  const std::string target = S_ISLNK(st.st_mode) ? read_link_at(fd.get(), "") : "";
  send_frame(channel_, id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto entry = make_entry(fbb, name, r->path, st, target);
    return std::make_pair(ap::Body::FileStatReply, ap::CreateFileStatReply(fbb, entry).Union());
  });
}

void FileService::make_dir(uint64_t id, const ap::MakeDir& req) {
  auto r = prepare(req.user(), req.path());
  if (!r) return reply_error(channel_, id, r.error().code, r.error().message);
  FsIdentity as_user(r->user);
  if (auto st = make_dirs(r->path, mode_t(req.mode() & 07777)); !st)
    return reply_error(channel_, id, st.error().code, st.error().message);
  reply_ok(channel_, id);
}

void FileService::remove(uint64_t id, const ap::Remove& req) {
  auto r = prepare(req.user(), req.path());
  if (!r) return reply_error(channel_, id, r.error().code, r.error().message);
  FsIdentity as_user(r->user);
  auto parent = open_parent(r->path);
  if (!parent) return reply_error(channel_, id, parent.error().code, parent.error().message);
  const char* name = parent->name.c_str();
  int err = 0;
  if (req.recursive())
    err = remove_tree(parent->parent.get(), parent->name);
  else if (::unlinkat(parent->parent.get(), name, 0) != 0)
    err = (errno == EISDIR && ::unlinkat(parent->parent.get(), name, AT_REMOVEDIR) == 0) ? 0 : errno;
  if (err) return reply_error(channel_, id, code_for_errno(err), errno_error("remove " + r->path, err).message);
  reply_ok(channel_, id);
}

void FileService::rename(uint64_t id, const ap::Rename& req) {
  auto from = prepare(req.user(), req.from());
  if (!from) return reply_error(channel_, id, from.error().code, from.error().message);
  auto to = absolute_path(req.to() ? req.to()->str() : "", from->user);
  if (!to) return reply_error(channel_, id, to.error().code, to.error().message);
  FsIdentity as_user(from->user);
  auto src = open_parent(from->path);
  if (!src) return reply_error(channel_, id, src.error().code, src.error().message);
  auto dst = open_parent(*to);
  if (!dst) return reply_error(channel_, id, dst.error().code, dst.error().message);
  if (::renameat(src->parent.get(), src->name.c_str(), dst->parent.get(), dst->name.c_str()) != 0)
    return reply_error(channel_, id, code_for_errno(errno), errno_error("rename " + from->path + " -> " + *to).message);
  reply_ok(channel_, id);
}

}  // namespace soulbox::agent
