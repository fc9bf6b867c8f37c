// File operations for the host: read (streamed, paced by the channel), write
// (streamed, committed atomically by rename), list, stat, mkdir -p, remove,
// rename.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "agent/channel.h"
#include "common/error_code.h"
#include "common/unique_fd.h"

namespace soulbox::agent {

class FileService {
 public:
  static constexpr size_t kChunkBytes = 256u << 10;
  static constexpr size_t kMaxListEntries = 10000;
  static constexpr size_t kMaxPendingWrites = 64;

  explicit FileService(Channel& channel) : channel_(channel) {}
  ~FileService();

  void read(uint64_t id, const agentproto::FileRead& req);
  void write(uint64_t id, const agentproto::FileWrite& req);
  void list(uint64_t id, const agentproto::FileList& req);
  void stat(uint64_t id, const agentproto::FileStat& req);
  void make_dir(uint64_t id, const agentproto::MakeDir& req);
  void remove(uint64_t id, const agentproto::Remove& req);
  void rename(uint64_t id, const agentproto::Rename& req);

  // Sends the next chunk of pending reads while the channel has room.
  void pump_reads();
  bool has_pending_reads() const { return !reads_.empty(); }

 private:
  struct PendingRead {
    uint64_t id;
    unique_fd fd;
    uint64_t remaining;
  };
  struct PendingWrite {
    unique_fd fd;
    unique_fd parent;
    std::string temp_name;
    std::string name;
    uint32_t mode;
  };
  void abort_write(uint64_t id);
  // Replies once; later frames of the same write are dropped until its last.
  void fail_write(uint64_t id, bool final, ErrorCode code, const std::string& message);

  Channel& channel_;
  std::deque<PendingRead> reads_;
  std::map<uint64_t, PendingWrite> writes_;
  std::set<uint64_t> failed_writes_;
};

}  // namespace soulbox::agent
