#include "tenants/key_usage.h"

#include <chrono>
#include <vector>

#include "common/log.h"

namespace soulbox::tenants {
namespace {

constexpr int64_t kRewriteAfterMs = 60000;
constexpr auto kTick = std::chrono::seconds(1);

std::string bucket_key(const std::string& tenant, const std::string& key_id) {
  return tenant + "." + key_id;
}

}  // namespace

Result<std::unique_ptr<KeyUsage>> KeyUsage::open(bus::JetStream& js) {
  auto bucket = js.bucket({kBucket, 0, 64});
  if (!bucket) return bucket.error();
  std::unique_ptr<KeyUsage> usage(new KeyUsage(std::move(*bucket)));
  usage->writer_ = std::thread([u = usage.get()] { u->run(); });
  return usage;
}

KeyUsage::~KeyUsage() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  flush();
}

void KeyUsage::mark(const std::string& tenant, const std::string& key_id, int64_t unix_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& noted = noted_[bucket_key(tenant, key_id)];
  if (unix_ms > noted) noted = unix_ms;
}

Result<int64_t> KeyUsage::last_used(const std::string& tenant, const std::string& key_id) {
  const std::string key = bucket_key(tenant, key_id);
  int64_t here = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = noted_.find(key);
    if (it != noted_.end()) here = it->second;
  }
  auto stored = bucket_->get(key);
  if (!stored) return stored.error();
  const int64_t there = stored->has_value() ? std::strtoll((*stored)->c_str(), nullptr, 10) : 0;
  return std::max(here, there);
}

void KeyUsage::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kTick, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

void KeyUsage::flush() {
  std::vector<std::pair<std::string, int64_t>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, noted] : noted_) {
      auto written = written_.find(key);
      if (written == written_.end() || noted - written->second >= kRewriteAfterMs) due.emplace_back(key, noted);
    }
  }
  for (const auto& [key, ms] : due) {
    if (auto put = bucket_->put(key, std::to_string(ms)); !put) {
      logger("tenants")->warn("last use of key {} not stored: {}", key, put.error().message);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    written_[key] = ms;
  }
}

}  // namespace soulbox::tenants
