#include "agent/watch_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

#include "agent/replies.h"
#include "agent/sandbox_paths.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {
constexpr uint32_t kMask = IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_ATTRIB | IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK;

// As Go's fsnotify (and so E2B's envd) reports them: a name moved in is
// created here, a name moved away is renamed.
ap::WatchOp op_for(uint32_t mask) {
  if (mask & (IN_CREATE | IN_MOVED_TO)) return ap::WatchOp::Create;
  if (mask & IN_DELETE) return ap::WatchOp::Remove;
  if (mask & IN_MOVED_FROM) return ap::WatchOp::Rename;
  if (mask & IN_ATTRIB) return ap::WatchOp::Chmod;
  return ap::WatchOp::Write;
}
// The file service writes whole files through ".<name>.soulbox-<n>" and a
// rename (file_service.cc): watchers see only the file appear.
bool is_own_temp_file(const char* name) {
  const std::string n(name);
  const auto mark = n.rfind(".soulbox-");
  return n.size() > 1 && n[0] == '.' && mark != std::string::npos && mark > 0 &&
         n.find_first_not_of("0123456789", mark + 9) == std::string::npos && n.size() > mark + 9;
}

}  // namespace

WatchService::WatchService(EventLoop& loop, Channel& channel) : loop_(loop), channel_(channel) {}

Status WatchService::open_inotify() {
  if (inotify_) return {};
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) {
    // EMFILE is the per-user instance limit here (ENFILE/the fd limit
    // would be this process's): root's, shared by every sandbox.
    if (errno == EMFILE)
      return Error{ErrorCode::resource_exhausted,
                   "inotify_init1: EMFILE (the host's inotify instances, fs.inotify.max_user_instances, are all in "
                   "use, or this sandbox's open-file limit is reached); retry later"};
    return sys_error("inotify_init1", errno, ErrorCode::unavailable);
  }
  if (!loop_.add(inotify_.get(), EPOLLIN, [this](uint32_t) { on_events(); })) {
    const int err = errno;
    inotify_.reset();
    return sys_error("watching the inotify instance", err, ErrorCode::unavailable);
  }
  return {};
}

void WatchService::close_inotify_when_unused() {
  if (!watches_.empty() || !inotify_) return;
  loop_.remove(inotify_.get());
  inotify_.reset();
  dirs_.clear();
}

bool WatchService::add_dir(uint32_t watch_id, const std::string& path, bool recursive) {
  if (dirs_.size() >= kMaxWatchedDirs) return false;
  const int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), kMask);
  if (wd < 0) return false;
  dirs_[wd] = Dir{watch_id, path};
  if (!recursive) return true;
  unique_fd fd(open_in_root(path, O_RDONLY | O_DIRECTORY));
  DIR* d = fd ? ::fdopendir(fd.release()) : nullptr;
  if (!d) return true;
  while (auto* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || !std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    add_dir(watch_id, (path == "/" ? "" : path) + "/" + e->d_name, true);
  }
  ::closedir(d);
  return true;
}

void WatchService::start(uint64_t id, const ap::WatchStart& req) {
  auto user = lookup_user(req.user() ? req.user()->str() : "");
  if (!user) return reply_error(channel_, id, ErrorCode::invalid_argument, "unknown user (use 'user' or 'root')");
  auto abs = absolute_path(req.path()->str(), *user);
  if (!abs) return reply_error(channel_, id, abs.error().code, abs.error().message);
  FsIdentity as_user(*user);
  // Resolve symlinks inside the root first; inotify itself takes a path.
  unique_fd dir(open_in_root(*abs, O_PATH | O_DIRECTORY));
  if (!dir) return reply_error(channel_, id, code_for_errno(errno), "watch " + *abs + ": " + std::strerror(errno));
  while (abs->size() > 1 && abs->back() == '/') abs->pop_back();
  if (auto opened = open_inotify(); !opened)
    return reply_error(channel_, id, opened.error().code, opened.error().message);
  const uint32_t watch_id = next_watch_id_++;
  if (!add_dir(watch_id, *abs, req.recursive())) {
    const int err = errno;
    close_inotify_when_unused();
    return reply_error(channel_, id, code_for_errno(err), "watch " + *abs + ": " + std::strerror(err));
  }
  watches_[watch_id] = Watch{id, req.recursive(), *user};
  send_frame(channel_, id, [watch_id](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(ap::Body::WatchStarted, ap::CreateWatchStarted(fbb, watch_id).Union());
  });
}

void WatchService::stop(uint64_t id, const ap::WatchStop& req) {
  if (!watches_.erase(req.watch_id())) return reply_error(channel_, id, ErrorCode::not_found, "no such watch");
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (it->second.watch_id == req.watch_id()) {
      ::inotify_rm_watch(inotify_.get(), it->first);
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
  close_inotify_when_unused();
  reply_ok(channel_, id);
}

void WatchService::on_events() {
  alignas(struct inotify_event) char buf[16384];
  for (;;) {
    const ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) return;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += ssize_t(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_IGNORED) {
        dirs_.erase(ev->wd);
        continue;
      }
      auto dir = dirs_.find(ev->wd);
      if (dir == dirs_.end() || ev->len == 0 || is_own_temp_file(ev->name)) continue;
      auto watch = watches_.find(dir->second.watch_id);
      if (watch == watches_.end()) continue;
      const std::string path = (dir->second.path == "/" ? "" : dir->second.path) + "/" + ev->name;
      if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && watch->second.recursive) {
        FsIdentity as_watcher(watch->second.user);  // not the agent's rights: it reads every directory
        add_dir(dir->second.watch_id, path, true);
      }
      const uint32_t watch_id = dir->second.watch_id;
      send_frame(channel_, watch->second.request_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(ap::Body::WatchEvent,
                              ap::CreateWatchEvent(fbb, watch_id, fbb.CreateString(path), op_for(ev->mask)).Union());
      });
    }
  }
}

}  // namespace soulbox::agent
