#include "bus/connection.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>

#include "bus/handler_guard.h"
#include "bus/nats_error.h"
#include "bus/subjects.h"

namespace soulbox::bus {
namespace {

// Reconnect backoff: 10 ms, 20 ms, ... capped.
int64_t backoff(natsConnection*, int attempts, void* closure) {
  const int64_t cap = *static_cast<int64_t*>(closure);
  return std::min<int64_t>(cap, int64_t(10) << std::min(attempts, 10));
}

// The handler may still be running on a nats thread when the owner
// unsubscribes, so it is freed by the subscription's on-complete callback,
// which nats.c calls after the last delivery has returned.
class NatsSubscription final : public Subscription {
 public:
  NatsSubscription(natsSubscription* sub, Connection::Handler* handler) : sub_(sub), handler_(handler) {
    if (natsSubscription_SetOnCompleteCB(sub_, free_handler, handler_) == NATS_OK) handler_ = nullptr;
  }
  ~NatsSubscription() override {
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
    delete handler_;  // only when the callback could not be set
  }

 private:
  static void free_handler(void* closure) { delete static_cast<Connection::Handler*>(closure); }
  natsSubscription* sub_;
  Connection::Handler* handler_;
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  Message m;
  m.subject = natsMsg_GetSubject(msg);
  if (const char* reply = natsMsg_GetReply(msg)) m.reply = reply;
  m.data.assign(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  auto& handler = *static_cast<Connection::Handler*>(closure);
  const std::string subject = m.subject;
  run_guarded(subject, 0, [&] { handler(std::move(m)); });
}

void on_reconnected(natsConnection*, void* closure) {
  ++*static_cast<std::atomic<uint64_t>*>(closure);
}

// Threads delivering every subscription's messages, for the whole process:
// a handler that blocks (the tenant service answers on the bus from its
// callback) holds up only the subscriptions that share its thread.
constexpr int kDeliveryThreads = 4;

natsStatus use_delivery_pool() {
  static const natsStatus sized = nats_SetMessageDeliveryPoolSize(kDeliveryThreads);
  return sized;
}

class NatsConnection final : public Connection {
 public:
  ~NatsConnection() override {
    if (nc_) {
      natsConnection_DrainTimeout(nc_, 2000);
      natsConnection_Destroy(nc_);
    }
    if (opts_) natsOptions_Destroy(opts_);
  }

  Status open(const ConnectOptions& o) {
    max_wait_ = o.max_reconnect_wait_ms;
    natsStatus s = natsOptions_Create(&opts_);
    if (s == NATS_OK) s = natsOptions_SetURL(opts_, o.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(opts_, o.name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts_, o.connect_timeout_ms);
    if (s == NATS_OK && !o.user.empty()) s = natsOptions_SetUserInfo(opts_, o.user.c_str(), o.password.c_str());
    if (s == NATS_OK && !o.inbox_prefix.empty()) s = natsOptions_SetCustomInboxPrefix(opts_, o.inbox_prefix.c_str());
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts_, -1);  // forever
    if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(opts_, backoff, &max_wait_);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(opts_, 2000);  // keep-alive
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts_, on_reconnected, &reconnects_);
    // Without it a publish (every reply and event) waits for nats.c's flusher
    // thread: ~1 ms per hop measured here, against ~0.1 ms with it.
    if (s == NATS_OK) s = natsOptions_SetSendAsap(opts_, true);
    // Every sandbox subscribes to its own subjects, and nats.c otherwise
    // gives each subscription a delivery thread: soulboxd ran a thread per
    // sandbox. A fixed pool delivers them all instead, each subscription
    // bound to one of its threads (so its messages stay in order). Replies
    // to requests made from a callback come on nats.c's own response
    // subscription, outside the pool, so a callback may still make one.
    if (s == NATS_OK) s = use_delivery_pool();
    if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts_, true);
    if (s != NATS_OK) return to_error(s, "nats options");
    s = natsConnection_Connect(&nc_, opts_);
    if (s != NATS_OK) return to_error(s, "connect to " + o.url);
    return {};
  }

  Status publish(const std::string& subject, const std::string& data) override {
    const natsStatus s = natsConnection_Publish(nc_, subject.c_str(), data.data(), int(data.size()));
    if (s != NATS_OK) return to_error(s, "publish " + subject);
    return {};
  }

  Result<std::string> request(const std::string& subject, const std::string& data, int timeout_ms) override {
    natsMsg* reply = nullptr;
    const natsStatus s =
        natsConnection_Request(&reply, nc_, subject.c_str(), data.data(), int(data.size()), timeout_ms);
    if (s != NATS_OK) return to_error(s, "request " + subject);
    std::string out(natsMsg_GetData(reply), size_t(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    return out;
  }

  Result<std::unique_ptr<Subscription>> subscribe(const std::string& subject, const std::string& queue_group,
                                                  Handler handler) override {
    auto owned = std::make_unique<Handler>(std::move(handler));
    natsSubscription* sub = nullptr;
    const natsStatus s =
        queue_group.empty()
            ? natsConnection_Subscribe(&sub, nc_, subject.c_str(), on_message, owned.get())
            : natsConnection_QueueSubscribe(&sub, nc_, subject.c_str(), queue_group.c_str(), on_message, owned.get());
    if (s != NATS_OK) return to_error(s, "subscribe " + subject);
    return std::unique_ptr<Subscription>(new NatsSubscription(sub, owned.release()));
  }

  Status flush(int timeout_ms) override {
    const natsStatus s = natsConnection_FlushTimeout(nc_, timeout_ms);
    if (s != NATS_OK) return to_error(s, "flush");
    return {};
  }

  void* native_handle() override { return nc_; }

  bool connected() const override { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }
  uint64_t reconnects() const override { return reconnects_.load(); }

  Result<bool> stream_exists(const std::string& name) override {
    jsCtx* js = nullptr;
    if (natsStatus s = natsConnection_JetStream(&js, nc_, nullptr); s != NATS_OK) return to_error(s, "jetstream");
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_GetStreamInfo(&info, js, name.c_str(), nullptr, &jerr);
    if (info) jsStreamInfo_Destroy(info);
    jsCtx_Destroy(js);
    if (s == NATS_NOT_FOUND) return false;
    if (s != NATS_OK) return to_error(s, "stream info " + name);
    return true;
  }

  Status ensure_stream(const StreamSpec& spec) override {
    auto exists = stream_exists(spec.name);
    if (!exists) return exists.error();
    if (*exists) return {};
    jsCtx* js = nullptr;
    if (natsStatus s = natsConnection_JetStream(&js, nc_, nullptr); s != NATS_OK) return to_error(s, "jetstream");
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = spec.name.c_str();
    const char* subjects[] = {spec.subjects.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = spec.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
    cfg.Storage = js_FileStorage;
    cfg.MaxAge = spec.max_age_seconds * int64_t(1000000000);  // nanoseconds
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_AddStream(&info, js, &cfg, nullptr, &jerr);
    if (info) jsStreamInfo_Destroy(info);
    jsCtx_Destroy(js);
    // Another node may have created it in between: that is fine.
    if (s != NATS_OK && jerr != JSStreamNameExistErr) return to_error(s, "create stream " + spec.name);
    return {};
  }

 private:
  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  int64_t max_wait_ = 2000;
  std::atomic<uint64_t> reconnects_{0};
};

}  // namespace

Result<std::unique_ptr<Connection>> Connection::connect(const ConnectOptions& options) {
  auto c = std::make_unique<NatsConnection>();
  if (auto st = c->open(options); !st) return st.error();
  return std::unique_ptr<Connection>(std::move(c));
}

Status ensure_node_streams(Connection& connection) {
  const StreamSpec streams[] = {
      {subjects::kJobsStream, "sb.v1.jobs.>", true, 0},
      {subjects::kEventsStream, "sb.v1.events.>", false, 0},
      {subjects::kAuditStream, "sb.v1.audit.events.>", false, 0},
  };
  for (const auto& s : streams)
    if (auto st = connection.ensure_stream(s); !st) return st;
  return {};
}

}  // namespace soulbox::bus
