// Directory watches (inotify), optionally recursive: new subdirectories are
// watched as they appear. Events go to the host with the WatchStart's id.
// Every directory is added with the watcher's fs ids, so a watch reports no
// names inside directories its user cannot read.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "agent/channel.h"
#include "agent/event_loop.h"
#include "agent/users.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace soulbox::agent {

class WatchService {
 public:
  static constexpr size_t kMaxWatchedDirs = 8192;

  WatchService(EventLoop& loop, Channel& channel);
  void start(uint64_t id, const agentproto::WatchStart& req);
  void stop(uint64_t id, const agentproto::WatchStop& req);

 private:
  struct Watch {
    uint64_t request_id;
    bool recursive;
    UserIdentity user;  // who watches: subdirectories are added as them
  };
  struct Dir {
    uint32_t watch_id;
    std::string path;
  };
  // The inotify instance exists only while a watch does: the kernel charges
  // every sandbox's instances to host root, whose limit all share
  // (fs.inotify.max_user_instances, 128 by default), so idle sandboxes hold
  // none (docs/density.md).
  Status open_inotify();
  void close_inotify_when_unused();
  bool add_dir(uint32_t watch_id, const std::string& path, bool recursive);
  void on_events();

  EventLoop& loop_;
  Channel& channel_;
  unique_fd inotify_;
  uint32_t next_watch_id_ = 1;
  std::map<uint32_t, Watch> watches_;
  std::map<int, Dir> dirs_;  // inotify wd -> directory
};

}  // namespace soulbox::agent
