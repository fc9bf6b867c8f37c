// When each API key was last used, kept in the JetStream key-value bucket
// SB_KEY_USED ("<tenant>.<key id>" -> Unix ms). Authentication only notes
// the time in memory; a background thread writes a key's time when it was
// never written or is over a minute newer than what was, so a busy key
// costs one write a minute per node, not one per request.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/jetstream.h"

namespace soulbox::tenants {

class KeyUsage {
 public:
  static constexpr const char* kBucket = "SB_KEY_USED";
  static Result<std::unique_ptr<KeyUsage>> open(bus::JetStream& js);
  ~KeyUsage();  // writes what is pending

  void mark(const std::string& tenant, const std::string& key_id, int64_t unix_ms);
  // 0: never used (as far as the bucket and this node know).
  Result<int64_t> last_used(const std::string& tenant, const std::string& key_id);

 private:
  explicit KeyUsage(std::unique_ptr<bus::KeyValueBucket> bucket) : bucket_(std::move(bucket)) {}
  void run();
  void flush();

  std::unique_ptr<bus::KeyValueBucket> bucket_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, int64_t> noted_, written_;  // by "<tenant>.<key id>"
  std::thread writer_;
};

}  // namespace soulbox::tenants
