// JetStream beyond stream creation: publishing with dedup ids, a durable
// pull consumer whose messages are acked later from any thread, and
// key-value buckets. Only bus/ includes nats.h.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/connection.h"

namespace soulbox::bus {

struct PublishAck {
  uint64_t sequence = 0;
  bool duplicate = false;  // the stream had this msg id already (dedup window)
};

// Settles one delivered message; safe from any thread, once.
class AckHandle {
 public:
  virtual ~AckHandle() = default;
  virtual Status ack() = 0;          // done: the work-queue stream drops it
  virtual Status nak() = 0;          // redeliver now
  virtual Status term() = 0;         // never redeliver
  virtual Status in_progress() = 0;  // still working: restart the ack timer
};

struct Delivery {
  std::string subject, data;
  std::string msg_id;  // Nats-Msg-Id header, if any
  uint64_t stream_sequence = 0;
  uint64_t delivered = 0;  // 1 on the first delivery
  std::shared_ptr<AckHandle> ack;
};

struct PullConsumerSpec {
  std::string stream, durable, filter_subject;
  int64_t ack_wait_ms = 30000;  // unacked for this long: redelivered
  int max_deliver = 5;          // then never again
  int max_ack_pending = 1000;
};

class PullConsumer {
 public:
  virtual ~PullConsumer() = default;
  // Up to `batch` messages; empty after `timeout_ms` without any.
  virtual Result<std::vector<Delivery>> fetch(int batch, int timeout_ms) = 0;
};

// Where a durable consumer stands (JetStream's consumer info).
struct ConsumerState {
  // Every message of the stream at or below this sequence has been acked
  // (or given up on after max deliveries).
  uint64_t ack_floor_stream_seq = 0;
  uint64_t delivered_stream_seq = 0;
  uint64_t num_pending = 0;      // not yet delivered
  uint64_t num_ack_pending = 0;  // delivered, not yet acked
};

struct StreamState {
  uint64_t messages = 0, first_seq = 0, last_seq = 0;
};

struct BucketSpec {
  std::string name;
  int64_t ttl_ms = 0;  // 0: keep forever
  int64_t max_value_bytes = -1;
};

class KeyValueBucket {
 public:
  virtual ~KeyValueBucket() = default;
  virtual Result<std::optional<std::string>> get(const std::string& key) = 0;
  virtual Status put(const std::string& key, const std::string& value) = 0;
  // Only when the key does not exist; false if it did.
  virtual Result<bool> create(const std::string& key, const std::string& value) = 0;
};

class JetStream {
 public:
  static Result<std::unique_ptr<JetStream>> open(Connection& connection);
  virtual ~JetStream() = default;
  // `msg_id` non-empty: the stream drops a second publish with the same id
  // inside its duplicate window.
  virtual Result<PublishAck> publish(const std::string& subject, const std::string& data, const std::string& msg_id,
                                     int timeout_ms = 5000) = 0;
  // Optimistic concurrency: stored only if the subject's last message in the
  // stream is still `expected_last_seq` (0: the subject has none);
  // already_exists when another writer got there first.
  virtual Result<PublishAck> publish_expecting(const std::string& subject, const std::string& data,
                                               uint64_t expected_last_seq, int timeout_ms = 5000) = 0;
  // The newest message on `subject` in `stream`: its sequence and data.
  virtual Result<std::optional<std::pair<uint64_t, std::string>>> last_message(const std::string& stream,
                                                                               const std::string& subject) = 0;
  // Every message of `stream` matching `filter` from `start_seq` (1: the
  // beginning) in order, then new ones as they come, to `handler` on a
  // nats.c thread (copy, hand to an actor, return).
  using StreamHandler = std::function<void(uint64_t seq, std::string subject, std::string data)>;
  virtual Result<std::unique_ptr<Subscription>> follow(const std::string& stream, const std::string& filter,
                                                       uint64_t start_seq, StreamHandler handler) = 0;
  // Every message of `stream` matching `filter` stored so far, in order
  // (for tools that rebuild state: audit replay).
  struct Stored {
    uint64_t seq = 0;
    std::string subject, data;
  };
  // `start_seq` > 1: only messages from that stream sequence on (the
  // caller knows one exists: with none, the read waits out `timeout_ms`).
  virtual Result<std::vector<Stored>> read_all(const std::string& stream, const std::string& filter,
                                               int timeout_ms = 10000, uint64_t start_seq = 1) = 0;
  // not_found when the consumer does not exist.
  virtual Result<ConsumerState> consumer_state(const std::string& stream, const std::string& durable) = 0;
  virtual Result<StreamState> stream_state(const std::string& stream) = 0;
  // Removes the messages of `stream` on `filter` whose sequence is below
  // `below_seq`; how many there were.
  virtual Result<uint64_t> purge_below(const std::string& stream, const std::string& filter, uint64_t below_seq) = 0;
  // Binds to the durable consumer, creating it when missing.
  virtual Result<std::unique_ptr<PullConsumer>> pull_consumer(const PullConsumerSpec& spec) = 0;
  // Binds to the bucket, creating it when missing.
  virtual Result<std::unique_ptr<KeyValueBucket>> bucket(const BucketSpec& spec) = 0;
};

}  // namespace soulbox::bus
