#include "bus/jetstream.h"

#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include "bus/handler_guard.h"
#include "bus/nats_error.h"

namespace soulbox::bus {
namespace {

constexpr int64_t kNanosPerMilli = 1000000;

class NatsAck final : public AckHandle {
 public:
  explicit NatsAck(natsMsg* msg) : msg_(msg) {}
  ~NatsAck() override { natsMsg_Destroy(msg_); }
  Status ack() override { return check(natsMsg_Ack(msg_, nullptr), "ack"); }
  Status nak() override { return check(natsMsg_Nak(msg_, nullptr), "nak"); }
  Status term() override { return check(natsMsg_Term(msg_, nullptr), "term"); }
  Status in_progress() override { return check(natsMsg_InProgress(msg_, nullptr), "in-progress"); }

 private:
  static Status check(natsStatus s, const char* what) {
    if (s != NATS_OK) return to_error(s, what);
    return {};
  }
  natsMsg* msg_;
};

Delivery delivery_of(natsMsg* msg) {
  Delivery d;
  d.subject = natsMsg_GetSubject(msg);
  d.data.assign(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg)));
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) d.msg_id = id;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    d.stream_sequence = meta->Sequence.Stream;
    d.delivered = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
  }
  d.ack = std::make_shared<NatsAck>(msg);  // owns msg from here
  return d;
}

class NatsPullConsumer final : public PullConsumer {
 public:
  explicit NatsPullConsumer(natsSubscription* sub) : sub_(sub) {}
  ~NatsPullConsumer() override {
    natsSubscription_Unsubscribe(sub_);  // the durable consumer stays on the server
    natsSubscription_Destroy(sub_);
  }

  Result<std::vector<Delivery>> fetch(int batch, int timeout_ms) override {
    natsMsgList list{};
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = natsSubscription_Fetch(&list, sub_, batch, timeout_ms, &jerr);
    std::vector<Delivery> out;
    if (s == NATS_TIMEOUT) return out;
    if (s != NATS_OK) return to_error(s, "fetch");
    for (int i = 0; i < list.Count; ++i) {
      out.push_back(delivery_of(list.Msgs[i]));
      list.Msgs[i] = nullptr;  // owned by the Delivery now
    }
    natsMsgList_Destroy(&list);
    return out;
  }

 private:
  natsSubscription* sub_;
};

class NatsBucket final : public KeyValueBucket {
 public:
  explicit NatsBucket(kvStore* kv) : kv_(kv) {}
  ~NatsBucket() override { kvStore_Destroy(kv_); }

  Result<std::optional<std::string>> get(const std::string& key) override {
    kvEntry* e = nullptr;
    const natsStatus s = kvStore_Get(&e, kv_, key.c_str());
    if (s == NATS_NOT_FOUND) return std::optional<std::string>();
    if (s != NATS_OK) return to_error(s, "kv get " + key);
    std::string value(static_cast<const char*>(kvEntry_Value(e)), size_t(kvEntry_ValueLen(e)));
    kvEntry_Destroy(e);
    return std::optional<std::string>(std::move(value));
  }

  Status put(const std::string& key, const std::string& value) override {
    uint64_t rev = 0;
    const natsStatus s = kvStore_Put(&rev, kv_, key.c_str(), value.data(), int(value.size()));
    if (s != NATS_OK) return to_error(s, "kv put " + key);
    return {};
  }

  Result<bool> create(const std::string& key, const std::string& value) override {
    uint64_t rev = 0;
    const natsStatus s = kvStore_Create(&rev, kv_, key.c_str(), value.data(), int(value.size()));
    if (s == NATS_OK) return true;
    // The key exists (the server's "wrong last sequence"): not an error here.
    if (auto existing = get(key); existing && existing->has_value()) return false;
    return to_error(s, "kv create " + key);
  }

 private:
  kvStore* kv_;
};

void on_stream_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  jsMsgMetaData* meta = nullptr;
  uint64_t seq = 0;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
  std::string subject = natsMsg_GetSubject(msg);
  std::string data(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  auto& handler = *static_cast<JetStream::StreamHandler*>(closure);
  const std::string where = subject;
  run_guarded(where, seq, [&] { handler(seq, std::move(subject), std::move(data)); });
}

// Frees the handler after nats.c's last delivery (as bus::Connection does).
class FollowSubscription final : public Subscription {
 public:
  FollowSubscription(natsSubscription* sub, JetStream::StreamHandler* handler) : sub_(sub), handler_(handler) {
    if (natsSubscription_SetOnCompleteCB(sub_, free_handler, handler_) == NATS_OK) handler_ = nullptr;
  }
  ~FollowSubscription() override {
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
    delete handler_;
  }

 private:
  static void free_handler(void* closure) { delete static_cast<JetStream::StreamHandler*>(closure); }
  natsSubscription* sub_;
  JetStream::StreamHandler* handler_;
};

class NatsJetStream final : public JetStream {
 public:
  NatsJetStream(natsConnection* nc, jsCtx* js) : nc_(nc), js_(js) {}
  ~NatsJetStream() override { jsCtx_Destroy(js_); }

  Result<PublishAck> publish(const std::string& subject, const std::string& data, const std::string& msg_id,
                             int timeout_ms) override {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    if (!msg_id.empty()) po.MsgId = msg_id.c_str();
    jsPubAck* pa = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_Publish(&pa, js_, subject.c_str(), data.data(), int(data.size()), &po, &jerr);
    if (s != NATS_OK) return to_error(s, "publish to stream: " + subject);
    PublishAck ack{pa->Sequence, pa->Duplicate};
    jsPubAck_Destroy(pa);
    return ack;
  }

  Result<PublishAck> publish_expecting(const std::string& subject, const std::string& data, uint64_t expected,
                                       int timeout_ms) override {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    po.ExpectLastSubjectSeq = expected;
    // 0 means "no expectation" to nats.c; "the subject is empty" is asked for with the header form.
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), int(data.size()));
    if (s == NATS_OK && expected == 0) s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Subject-Sequence", "0");
    jsPubAck* pa = nullptr;
    jsErrCode jerr = jsErrCode(0);
    if (s == NATS_OK) s = js_PublishMsg(&pa, js_, msg, &po, &jerr);
    natsMsg_Destroy(msg);
    if (jerr == JSStreamWrongLastSequenceErr)
      return Error{ErrorCode::already_exists, "another writer updated " + subject + " first"};
    if (s != NATS_OK) return to_error(s, "publish to stream: " + subject);
    PublishAck ack{pa->Sequence, pa->Duplicate};
    jsPubAck_Destroy(pa);
    return ack;
  }

  Result<std::optional<std::pair<uint64_t, std::string>>> last_message(const std::string& stream,
                                                                       const std::string& subject) override {
    natsMsg* msg = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_GetLastMsg(&msg, js_, stream.c_str(), subject.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND) return std::optional<std::pair<uint64_t, std::string>>();
    if (s != NATS_OK) return to_error(s, "last message on " + subject);
    auto out =
        std::make_pair(natsMsg_GetSequence(msg), std::string(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg))));
    natsMsg_Destroy(msg);
    return std::optional<std::pair<uint64_t, std::string>>(std::move(out));
  }

  Result<std::unique_ptr<Subscription>> follow(const std::string& stream, const std::string& filter, uint64_t start,
                                               StreamHandler handler) override {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = start ? start : 1;
    auto* owned = new StreamHandler(std::move(handler));
    natsSubscription* sub = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_Subscribe(&sub, js_, filter.c_str(), on_stream_message, owned, nullptr, &so, &jerr);
    if (s != NATS_OK) {
      delete owned;
      return to_error(s, "follow " + stream);
    }
    return std::unique_ptr<Subscription>(new FollowSubscription(sub, owned));
  }

  Result<std::vector<Stored>> read_all(const std::string& stream, const std::string& filter, int timeout_ms,
                                       uint64_t start_seq) override {
    auto count = matching_messages(stream, filter);
    if (!count) return count.error();
    std::vector<Stored> out;
    if (*count == 0) return out;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = start_seq > 1 ? js_DeliverByStartSequence : js_DeliverAll;
    if (start_seq > 1) so.Config.OptStartSeq = start_seq;
    natsSubscription* sub = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_SubscribeSync(&sub, js_, filter.c_str(), nullptr, &so, &jerr);
    if (s != NATS_OK) return to_error(s, "read " + stream);
    // Until the server says nothing more is pending (messages stored while
    // reading are included).
    for (;;) {
      natsMsg* msg = nullptr;
      s = natsSubscription_NextMsg(&msg, sub, timeout_ms);
      if (s != NATS_OK) break;
      uint64_t pending = 0;
      jsMsgMetaData* meta = nullptr;
      Stored stored;
      if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        stored.seq = meta->Sequence.Stream;
        pending = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
      }
      stored.subject = natsMsg_GetSubject(msg);
      stored.data.assign(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg)));
      natsMsg_Destroy(msg);
      out.push_back(std::move(stored));
      if (pending == 0) break;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    if (s != NATS_OK) return to_error(s, "read " + stream + " after " + std::to_string(out.size()) + " messages");
    return out;
  }

  Result<ConsumerState> consumer_state(const std::string& stream, const std::string& durable) override {
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_GetConsumerInfo(&ci, js_, stream.c_str(), durable.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr)
      return Error{ErrorCode::not_found, "no consumer " + durable + " on " + stream};
    if (s != NATS_OK) return to_error(s, "consumer info " + durable);
    ConsumerState state{ci->AckFloor.Stream, ci->Delivered.Stream, ci->NumPending, uint64_t(ci->NumAckPending)};
    jsConsumerInfo_Destroy(ci);
    return state;
  }

  Result<StreamState> stream_state(const std::string& stream) override {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &jerr);
    if (s != NATS_OK) return to_error(s, "stream info " + stream);
    StreamState state{si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
    jsStreamInfo_Destroy(si);
    return state;
  }

  // The API request itself rather than js_PurgeStream, whose answer drops
  // the count of purged messages.
  Result<uint64_t> purge_below(const std::string& stream, const std::string& filter, uint64_t below_seq) override {
    const std::string request = nlohmann::json{{"filter", filter}, {"seq", below_seq}}.dump();
    natsMsg* reply = nullptr;
    const natsStatus s = natsConnection_Request(&reply, nc_, ("$JS.API.STREAM.PURGE." + stream).c_str(), request.data(),
                                                int(request.size()), 5000);
    if (s != NATS_OK) return to_error(s, "purge " + stream);
    const auto answer = nlohmann::json::parse(natsMsg_GetData(reply),
                                              natsMsg_GetData(reply) + natsMsg_GetDataLength(reply), nullptr, false);
    natsMsg_Destroy(reply);
    if (!answer.is_object() || !answer.value("success", false))
      return Error{ErrorCode::internal, "purge " + stream + ": " + (answer.is_object() ? answer.dump() : "unreadable")};
    return answer.value("purged", uint64_t(0));
  }

  Result<std::unique_ptr<PullConsumer>> pull_consumer(const PullConsumerSpec& spec) override {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = spec.stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = spec.ack_wait_ms * kNanosPerMilli;
    so.Config.MaxDeliver = spec.max_deliver;
    so.Config.MaxAckPending = spec.max_ack_pending;
    natsSubscription* sub = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s =
        js_PullSubscribe(&sub, js_, spec.filter_subject.c_str(), spec.durable.c_str(), nullptr, &so, &jerr);
    if (s != NATS_OK) return to_error(s, "pull consumer " + spec.durable);
    return std::unique_ptr<PullConsumer>(new NatsPullConsumer(sub));
  }

  Result<std::unique_ptr<KeyValueBucket>> bucket(const BucketSpec& spec) override {
    kvStore* kv = nullptr;
    natsStatus s = js_KeyValue(&kv, js_, spec.name.c_str());
    if (s == NATS_NOT_FOUND) {
      kvConfig cfg;
      kvConfig_Init(&cfg);
      cfg.Bucket = spec.name.c_str();
      cfg.TTL = spec.ttl_ms * kNanosPerMilli;
      cfg.MaxValueSize = int32_t(spec.max_value_bytes);
      cfg.StorageType = js_FileStorage;
      s = js_CreateKeyValue(&kv, js_, &cfg);
      if (s != NATS_OK) s = js_KeyValue(&kv, js_, spec.name.c_str());  // another node won the race
    }
    if (s != NATS_OK) return to_error(s, "key-value bucket " + spec.name);
    return std::unique_ptr<KeyValueBucket>(new NatsBucket(kv));
  }

 private:
  Result<uint64_t> matching_messages(const std::string& stream, const std::string& filter) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Info.SubjectsFilter = filter.c_str();
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = jsErrCode(0);
    const natsStatus s = js_GetStreamInfo(&si, js_, stream.c_str(), &o, &jerr);
    if (s != NATS_OK) return to_error(s, "stream info " + stream);
    uint64_t total = 0;
    if (si->State.Subjects)
      for (int i = 0; i < si->State.Subjects->Count; ++i) total += si->State.Subjects->List[i].Msgs;
    jsStreamInfo_Destroy(si);
    return total;
  }

  natsConnection* nc_;
  jsCtx* js_;
};

}  // namespace

Result<std::unique_ptr<JetStream>> JetStream::open(Connection& connection) {
  auto* nc = static_cast<natsConnection*>(connection.native_handle());
  jsCtx* js = nullptr;
  const natsStatus s = natsConnection_JetStream(&js, nc, nullptr);
  if (s != NATS_OK) return to_error(s, "jetstream");
  return std::unique_ptr<JetStream>(new NatsJetStream(nc, js));
}

}  // namespace soulbox::bus
