// One NATS connection per process. Only bus/ includes nats.h.
//
// Handlers run on nats.c's threads: they get a copy of the message and must
// hand it to an actor, never touch actor state (docs/stack-notes.md S7).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace soulbox::bus {

struct ConnectOptions {
  std::string url;               // nats://host:port[,nats://...]
  std::string user, password;    // empty: none
  std::string name = "soulbox";  // shown by the server's monitoring
  int connect_timeout_ms = 2000;
  int max_reconnect_wait_ms = 2000;  // exponential backoff from 10 ms up to this
  // Replies come to <prefix>.<random>: a gateway's and a publisher's differ
  // from nodes' so no role can subscribe to another's replies (bus_roles.h).
  std::string inbox_prefix{};  // empty: nats.c's default, _INBOX
};

struct Message {
  std::string subject;
  std::string reply;  // empty when the sender expects no answer
  std::string data;
};

class Subscription {
 public:
  virtual ~Subscription() = default;  // unsubscribes
};

struct StreamSpec {
  std::string name;
  std::string subjects;         // e.g. "sb.v1.jobs.>"
  bool work_queue = false;      // work-queue retention (else limits)
  int64_t max_age_seconds = 0;  // 0: no limit
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> connect(const ConnectOptions& options);
  virtual ~Connection() = default;  // drains, then closes

  virtual Status publish(const std::string& subject, const std::string& data) = 0;
  virtual Result<std::string> request(const std::string& subject, const std::string& data, int timeout_ms) = 0;
  using Handler = std::function<void(Message)>;
  // `queue_group` non-empty: one member of the group gets each message.
  virtual Result<std::unique_ptr<Subscription>> subscribe(const std::string& subject, const std::string& queue_group,
                                                          Handler handler) = 0;
  // Waits until the server has processed everything sent so far (so a new
  // subscription is live before anyone sends to it: docs/stack-notes.md S6).
  virtual Status flush(int timeout_ms) = 0;
  virtual bool connected() const = 0;
  virtual uint64_t reconnects() const = 0;

  // JetStream: creates the stream when it does not exist yet.
  virtual Status ensure_stream(const StreamSpec& spec) = 0;
  virtual Result<bool> stream_exists(const std::string& name) = 0;

  // The natsConnection*, for bus/jetstream.cc only (no other code sees nats.h).
  virtual void* native_handle() = 0;
};

// The streams a node needs (SB_JOBS, SB_EVENTS, SB_AUDIT).
Status ensure_node_streams(Connection& connection);

}  // namespace soulbox::bus
