#include "client/client.h"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bus/subjects.h"
#include "client/reply_fields.h"
#include "common/json_fields.h"
#include "common/wall_clock.h"
#include "messages/sandbox_op_names.h"

namespace soulbox::client {
namespace ap = agentproto;
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

SandboxInfo info_of(const bp::SandboxInfo* i) {
  SandboxInfo out;
  if (!i) return out;
  out.id = str(i->id());
  out.template_name = str(i->template_name());
  out.node = str(i->node());
  out.tenant = str(i->tenant());
  out.end_reason = str(i->end_reason());
  out.state = i->state();
  out.created_unix_ms = i->created_unix_ms();
  out.expires_unix_ms = i->expires_unix_ms();
  out.paused_unix_ms = i->paused_unix_ms();
  out.memory_bytes = i->memory_bytes();
  out.cpus = i->cpus();
  if (i->metadata())
    for (const auto* kv : *i->metadata()) out.metadata.emplace_back(str(kv->key()), str(kv->value()));
  return out;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<bp::KeyValue>>> key_values(
    flatbuffers::FlatBufferBuilder& b, const KeyValues& kvs) {
  std::vector<flatbuffers::Offset<bp::KeyValue>> out;
  for (const auto& [k, v] : kvs) out.push_back(bp::CreateKeyValue(b, b.CreateString(k), b.CreateString(v)));
  return b.CreateVector(out);
}

flatbuffers::Offset<bp::CreateSandbox> build_create(flatbuffers::FlatBufferBuilder& b, const CreateOptions& o,
                                                    const std::string& reservation_id = "") {
  return bp::CreateCreateSandbox(b, b.CreateString(o.template_name), o.memory_bytes, float(o.cpus), o.pids,
                                 o.disk_bytes, o.timeout_ms, o.auto_pause, key_values(b, o.env),
                                 key_values(b, o.metadata), key_values(b, o.node_selector), b.CreateString(o.region),
                                 b.CreateString(o.prefer_node), b.CreateString(reservation_id),
                                 b.CreateVectorOfStrings(o.secrets));
}

}  // namespace

Result<NodeAddress> read_ready_file(const std::string& path, const std::string& role) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::not_found, "cannot read " + path + " (is soulboxd running?)"};
  const auto j = nlohmann::json::parse(in, nullptr, false);
  NodeAddress a;
  a.connect.name = "soulbox-client";
  JsonFields f(j, path);
  f.read("nats_url", a.connect.url);
  f.read("nats_user", a.connect.user);
  f.read("nats_password", a.connect.password);
  f.read("node", a.node);
  const nlohmann::json* roles = f.object("roles");
  if (!f.ok()) return f.status().error();
  if (a.connect.url.empty() || a.node.empty())
    return Error{ErrorCode::protocol_error, path + " lacks nats_url or node"};
  // A node joined to another NATS server has no roles of its own to hand
  // out: everyone uses the node's credentials there.
  const nlohmann::json* own =
      roles && !role.empty() && role != "node" && roles->contains(role) ? &(*roles)[role] : nullptr;
  if (own) {
    JsonFields r(*own, path + " roles." + role);
    r.read("nats_user", a.connect.user);
    r.read("nats_password", a.connect.password);
    r.read("inbox_prefix", a.connect.inbox_prefix);
    if (!r.ok()) return r.status().error();
  }
  return a;
}

// --- events -------------------------------------------------------------------

void EventQueue::push(std::string bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_bytes_ + bytes.size() > max_bytes_) {
      auto r = bp::open_reply(bytes);
      if (r && (*r)->body_type() == bp::Body::ProcOutput) {
        const auto* data = (*r)->body_as_ProcOutput()->data();
        dropped_bytes_ += data ? data->size() : 0;
        return;
      }
    }
    queued_bytes_ += bytes.size();
    events_.push_back(std::move(bytes));
  }
  cv_.notify_one();
}

Result<OwnedReply> EventQueue::pop(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !events_.empty(); }))
    return Error{ErrorCode::timeout, "no event within " + std::to_string(timeout_ms) + " ms"};
  std::string bytes = std::move(events_.front());
  events_.pop_front();
  queued_bytes_ -= bytes.size();
  lock.unlock();
  if (auto r = bp::open_reply(bytes); !r) return r.error();
  OwnedReply reply(std::move(bytes));
  if (reply.get().code() != 0)
    return Error{ErrorCode(reply.get().code()), reply.get().message() ? reply.get().message()->str() : "error"};
  return reply;
}

Result<ProcessResult> Execution::wait(int timeout_ms, const OutputCallback& on_output) {
  ProcessResult& result = partial_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto event = events_->pop(int(std::max<int64_t>(0, left.count())));
    if (!event) return event.error();
    const bp::Reply& r = event->get();
    if (const auto* out = r.body_as_ProcOutput()) {
      const std::string data = bytes_of(out->data());
      if (on_output) on_output(out->stream(), data);
      if (keep_output_) (out->stream() == ap::Stream::Stderr ? result.err : result.out) += data;
    } else if (const auto* end = r.body_as_ProcEnd()) {
      apply_end(*end, result);
      return result;
    }
  }
}

Result<std::pair<std::string, ap::WatchOp>> Watch::next(int timeout_ms) {
  auto event = events_->pop(timeout_ms);
  if (!event) return event.error();
  const auto* w = event->get().body_as_WatchEvent();
  if (!w) return wrong_body("WatchEvent", event->get());
  return std::make_pair(str(w->path()), w->op());
}

// --- requests -------------------------------------------------------------------

Result<std::unique_ptr<Client>> Client::connect(const bus::ConnectOptions& options) {
  auto c = bus::Connection::connect(options);
  if (!c) return c.error();
  return std::make_unique<Client>(std::move(*c));
}

std::string Client::next_request_id() {
  std::lock_guard<std::mutex> lock(id_mu_);
  if (id_prefix_.empty()) {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    id_prefix_ = buf;
  }
  return id_prefix_ + "-" + std::to_string(++last_id_);
}

std::unique_ptr<Client> Client::as(const std::string& tenant_name, const std::string& principal_name,
                                   const std::vector<std::string>& role_names) const {
  auto c = std::make_unique<Client>(bus_);
  c->timeout_ms = timeout_ms;
  c->tenant = tenant_name;
  c->principal = principal_name;
  c->roles = role_names;
  c->stream_buffer_bytes = stream_buffer_bytes;
  return c;
}

Result<OwnedReply> Client::call(const std::string& subject, const BodyBuilder& body, const std::string& tenant_arg) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto [type, offset] = body ? body(fbb) : std::make_pair(bp::Body::SandboxRef, bp::CreateSandboxRef(fbb).Union());
  const std::string id = next_request_id();
  const std::string& for_tenant = tenant_arg.empty() ? tenant : tenant_arg;
  auto env = bp::CreateEnvelope(fbb, fbb.CreateString(id), for_tenant.empty() ? 0 : fbb.CreateString(for_tenant),
                                principal.empty() ? 0 : fbb.CreateString(principal), unix_ms_now() + timeout_ms, 0,
                                type, offset, roles.empty() ? 0 : fbb.CreateVectorOfStrings(roles));
  bp::FinishEnvelopeBuffer(fbb, env);
  auto answer = bus_->request(subject, bp::finish(fbb), timeout_ms);
  if (!answer) return answer.error();
  if (auto r = bp::open_reply(*answer); !r) return r.error();
  OwnedReply reply(std::move(*answer));
  if (reply.get().code() != 0)
    return Error{ErrorCode(reply.get().code()), reply.get().message() ? reply.get().message()->str() : "error"};
  return reply;
}

Result<std::string> Client::place(const CreateOptions& o) {
  std::string reservation;
  return place(o, &reservation);
}

Result<std::string> Client::place(const CreateOptions& o, std::string* reservation_id) {
  auto r = call(
      subjects::sched_place(),
      [&](flatbuffers::FlatBufferBuilder& b) {
        return std::make_pair(bp::Body::CreateSandbox, build_create(b, o).Union());
      },
      o.tenant);
  if (!r) return r.error();
  const auto* p = r->get().body_as_Placement();
  if (!p) return wrong_body("Placement", r->get());
  *reservation_id = str(p->reservation_id());
  return str(p->node());
}

Result<SandboxInfo> Client::create(const CreateOptions& o) {
  std::string node = o.node;
  std::string reservation;
  if (node.empty()) {
    auto placed = place(o, &reservation);
    if (!placed) return placed.error();
    node = *placed;
  }
  if (auto ok = subjects::check_token("node", node); !ok) return ok.error();
  auto r = call(
      subjects::node_op(node, "create"),
      [&](flatbuffers::FlatBufferBuilder& b) {
        return std::make_pair(bp::Body::CreateSandbox, build_create(b, o, reservation).Union());
      },
      o.tenant);
  if (!r) return r.error();
  const auto* created = r->get().body_as_SandboxCreated();
  if (!created) return wrong_body("SandboxCreated", r->get());
  SandboxInfo info = info_of(created->info());
  info.pool_hit = created->pool_hit();
  return info;
}

Result<SandboxInfo> Client::lifecycle(const std::string& id, const std::string& op, const BodyBuilder& body) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, op), body);
  if (!r) return r.error();
  const auto* info = r->get().body_as_SandboxInfo();
  if (!info) return wrong_body("SandboxInfo", r->get());
  return info_of(info);
}

Result<SandboxInfo> Client::info(const std::string& id) {
  return lifecycle(id, bp::op::info);
}
Result<SandboxInfo> Client::kill(const std::string& id) {
  return lifecycle(id, bp::op::kill);
}
Result<SandboxInfo> Client::pause(const std::string& id) {
  return lifecycle(id, bp::op::pause);
}
Result<SandboxInfo> Client::resume(const std::string& id) {
  return lifecycle(id, bp::op::resume);
}

Result<SandboxInfo> Client::set_timeout(const std::string& id, uint64_t ms) {
  return lifecycle(id, bp::op::timeout, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::SetTimeout, bp::CreateSetTimeout(b, ms).Union());
  });
}

Result<std::vector<bp::MetricsSample>> Client::metrics(const std::string& id, int64_t from, int64_t to) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::metrics), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::MetricsQuery, bp::CreateMetricsQuery(b, from, to).Union());
  });
  if (!r) return r.error();
  const auto* series = r->get().body_as_MetricsSeries();
  if (!series) return wrong_body("MetricsSeries", r->get());
  std::vector<bp::MetricsSample> out;
  if (series->samples())
    for (const auto* sample : *series->samples()) out.push_back(*sample);
  return out;
}

Result<std::vector<SandboxInfo>> Client::list(const std::string& node, const std::vector<bp::SandboxState>& states,
                                              const KeyValues& metadata) {
  std::vector<SandboxInfo> out;
  std::string token;
  do {
    auto r = call(subjects::node_op(node, "list"), [&](flatbuffers::FlatBufferBuilder& b) {
      auto q = bp::CreateListSandboxes(b, b.CreateVector(states), key_values(b, metadata), 1000, b.CreateString(token));
      return std::make_pair(bp::Body::ListSandboxes, q.Union());
    });
    if (!r) return r.error();
    const auto* list = r->get().body_as_SandboxList();
    if (!list) return wrong_body("SandboxList", r->get());
    if (list->sandboxes())
      for (const auto* i : *list->sandboxes()) out.push_back(info_of(i));
    token = str(list->next_token());
  } while (!token.empty());
  return out;
}

Result<std::string> Client::open_events(const std::string& id, std::shared_ptr<EventQueue>& queue,
                                        std::unique_ptr<bus::Subscription>& subscription) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  const std::string token = next_request_id();
  queue = std::make_shared<EventQueue>(stream_buffer_bytes);
  auto sub = bus_->subscribe(subjects::sandbox_events(id, token), "",
                             [q = queue](bus::Message m) { q->push(std::move(m.data)); });
  if (!sub) return sub.error();
  // No flush needed: the request that starts the stream leaves on this
  // connection after the SUB, so the server has it before any event.
  subscription = std::move(*sub);
  return token;
}

Result<std::unique_ptr<Execution>> Client::start(const std::string& id, const ProcessSpec& spec,
                                                 const std::vector<std::string>& secrets) {
  auto exec = std::make_unique<Execution>();
  auto token = open_events(id, exec->events_, exec->subscription_);
  if (!token) return token.error();
  auto r = call(subjects::sandbox_op(id, bp::op::exec), [&](flatbuffers::FlatBufferBuilder& b) {
    auto start = build_proc_start(b, spec);
    return std::make_pair(
        bp::Body::ExecStart,
        bp::CreateExecStart(b, start, b.CreateString(*token), secrets.empty() ? 0 : b.CreateVectorOfStrings(secrets))
            .Union());
  });
  if (!r) return r.error();
  const auto* started = r->get().body_as_ExecStarted();
  if (!started) return wrong_body("ExecStarted", r->get());
  exec->pid_ = started->pid();
  return exec;
}

Result<std::unique_ptr<Execution>> Client::attach(const std::string& id, int pid) {
  auto exec = std::make_unique<Execution>();
  auto token = open_events(id, exec->events_, exec->subscription_);
  if (!token) return token.error();
  auto r = call(subjects::sandbox_op(id, bp::op::attach), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::ExecAttach, bp::CreateExecAttach(b, pid, b.CreateString(*token)).Union());
  });
  if (!r) return r.error();
  const auto* started = r->get().body_as_ExecStarted();
  if (!started) return wrong_body("ExecStarted", r->get());
  exec->pid_ = started->pid();
  return exec;
}

Result<ProcessResult> Client::run(const std::string& id, const ProcessSpec& spec, int timeout,
                                  const OutputCallback& on_output, const std::vector<std::string>& secrets) {
  auto exec = start(id, spec, secrets);
  if (!exec) return exec.error();
  return (*exec)->wait(timeout, on_output);
}

Status Client::simple(const std::string& id, const std::string& op, const BodyBuilder& body) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok;
  auto r = call(subjects::sandbox_op(id, op), body);
  if (!r) return r.error();
  return {};
}

Status Client::send_stdin(const std::string& id, int pid, const std::string& data, bool close) {
  return simple(id, bp::op::stdin_, [&](flatbuffers::FlatBufferBuilder& b) {
    auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return std::make_pair(bp::Body::ProcInput, ap::CreateProcInput(b, pid, bytes, close).Union());
  });
}

Status Client::signal(const std::string& id, int pid, int signo) {
  return simple(id, bp::op::signal, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::ProcSignal, ap::CreateProcSignal(b, pid, signo).Union());
  });
}

Status Client::resize(const std::string& id, int pid, uint16_t rows, uint16_t cols) {
  return simple(id, bp::op::resize, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::ProcResize, ap::CreateProcResize(b, pid, ap::CreatePtySize(b, rows, cols)).Union());
  });
}

Result<std::vector<ProcessInfo>> Client::processes(const std::string& id) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::ps), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::ProcList, ap::CreateProcList(b).Union());
  });
  if (!r) return r.error();
  const auto* list = r->get().body_as_ProcListReply();
  if (!list) return wrong_body("ProcListReply", r->get());
  return process_infos(*list);
}

Result<PartialOutput> Client::output(const std::string& id, int pid) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::output), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::ProcOutputQuery, ap::CreateProcOutputQuery(b, pid).Union());
  });
  if (!r) return r.error();
  const auto* o = r->get().body_as_ProcOutputReply();
  if (!o) return wrong_body("ProcOutputReply", r->get());
  return PartialOutput{bytes_of(o->stdout()), bytes_of(o->stderr()), o->finished(), o->exit_code(), o->truncated()};
}

Status Client::write_file(const std::string& id, const std::string& path, const std::string& data, uint32_t mode,
                          const std::string& user) {
  if (data.size() > kUploadPartBytes) return upload_file(id, path, data, mode, user);
  return simple(id, bp::op::write, [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(bp::Body::FileWrite, ap::CreateFileWrite(b, p, bytes, true, mode, true, u).Union());
  });
}

// Larger than one bus message: in parts of one upload (op "upload",
// docs/bus.md); the file appears whole or not at all.
Status Client::upload_file(const std::string& id, const std::string& path, const std::string& data, uint32_t mode,
                           const std::string& user) {
  const std::string upload_id = next_request_id();
  for (size_t offset = 0; offset < data.size(); offset += kUploadPartBytes) {
    const size_t n = std::min(kUploadPartBytes, data.size() - offset);
    const bool first = offset == 0, last = offset + n == data.size();
    auto sent = simple(id, bp::op::upload, [&](flatbuffers::FlatBufferBuilder& b) {
      auto u = b.CreateString(upload_id);
      auto p = first ? b.CreateString(path) : 0;
      auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()) + offset, n);
      auto who = first && !user.empty() ? b.CreateString(user) : 0;
      auto part = ap::CreateFileWrite(b, p, bytes, last, mode, true, who);
      return std::make_pair(bp::Body::FileUpload, bp::CreateFileUpload(b, u, part).Union());
    });
    if (!sent) return sent;
  }
  return {};
}

Result<std::string> Client::read_file(const std::string& id, const std::string& path, const std::string& user) {
  return read_range(id, path, 0, 0, user);
}

Result<std::string> Client::read_range(const std::string& id, const std::string& path, uint64_t offset, uint64_t length,
                                       const std::string& user) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::read), [&](flatbuffers::FlatBufferBuilder& b) {
    auto p = b.CreateString(path);
    auto u = user.empty() ? 0 : b.CreateString(user);
    return std::make_pair(bp::Body::FileRead, ap::CreateFileRead(b, p, offset, length, u).Union());
  });
  if (!r) return r.error();
  const auto* chunk = r->get().body_as_FileChunk();
  if (!chunk) return wrong_body("FileChunk", r->get());
  return bytes_of(chunk->data());
}

Result<std::vector<FileInfo>> Client::list_dir(const std::string& id, const std::string& path, uint32_t depth) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::ls), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::FileList, ap::CreateFileList(b, b.CreateString(path), depth).Union());
  });
  if (!r) return r.error();
  const auto* list = r->get().body_as_FileListReply();
  if (!list) return wrong_body("FileListReply", r->get());
  std::vector<FileInfo> out;
  if (list->entries())
    for (const auto* e : *list->entries()) out.push_back(to_file_info(e));
  return out;
}

Result<FileInfo> Client::stat(const std::string& id, const std::string& path) {
  if (auto ok = subjects::check_token("sandbox id", id); !ok) return ok.error();
  auto r = call(subjects::sandbox_op(id, bp::op::stat), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::FileStat, ap::CreateFileStat(b, b.CreateString(path)).Union());
  });
  if (!r) return r.error();
  const auto* st = r->get().body_as_FileStatReply();
  if (!st) return wrong_body("FileStatReply", r->get());
  return to_file_info(st->entry());
}

Status Client::make_dir(const std::string& id, const std::string& path) {
  return simple(id, bp::op::mkdir, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::MakeDir, ap::CreateMakeDir(b, b.CreateString(path)).Union());
  });
}

Status Client::remove(const std::string& id, const std::string& path, bool recursive) {
  return simple(id, bp::op::rm, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::Remove, ap::CreateRemove(b, b.CreateString(path), recursive).Union());
  });
}

Status Client::rename(const std::string& id, const std::string& from, const std::string& to) {
  return simple(id, bp::op::mv, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::Rename, ap::CreateRename(b, b.CreateString(from), b.CreateString(to)).Union());
  });
}

Result<std::unique_ptr<Watch>> Client::watch(const std::string& id, const std::string& path, bool recursive) {
  auto w = std::make_unique<Watch>();
  auto token = open_events(id, w->events_, w->subscription_);
  if (!token) return token.error();
  auto r = call(subjects::sandbox_op(id, bp::op::watch), [&](flatbuffers::FlatBufferBuilder& b) {
    auto start = ap::CreateWatchStart(b, b.CreateString(path), recursive);
    return std::make_pair(bp::Body::WatchOpen, bp::CreateWatchOpen(b, start, b.CreateString(*token)).Union());
  });
  if (!r) return r.error();
  const auto* opened = r->get().body_as_WatchOpened();
  if (!opened) return wrong_body("WatchOpened", r->get());
  w->id_ = opened->watch_id();
  return w;
}

Status Client::unwatch(const std::string& id, uint32_t watch_id) {
  return simple(id, bp::op::unwatch, [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::WatchStop, ap::CreateWatchStop(b, watch_id).Union());
  });
}

Result<NodeHealth> Client::health(const std::string& node) {
  if (auto ok = subjects::check_token("node", node); !ok) return ok.error();
  auto r = call(subjects::node_op(node, "health"), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::NodeHealthQuery, bp::CreateNodeHealthQuery(b).Union());
  });
  if (!r) return r.error();
  const auto* h = r->get().body_as_NodeHealth();
  if (!h) return wrong_body("NodeHealth", r->get());
  NodeHealth out{str(h->node()),    str(h->status()), str(h->version()),          str(h->region()),      h->sandboxes(),
                 h->cpu_capacity(), h->cpu_free(),    h->memory_capacity_bytes(), h->memory_free_bytes()};
  out.bad_messages = h->bad_messages();
  out.unreadable_events = h->unreadable_events();
  out.memory_in_use_bytes = h->memory_in_use_bytes();
  out.new_sandbox_memory_bytes = h->new_sandbox_memory_bytes();
  out.cpus_reserved = h->cpus_reserved();
  return out;
}

Result<std::vector<PoolTemplateStats>> Client::pool_stats(const std::string& node) {
  if (auto ok = subjects::check_token("node", node); !ok) return ok.error();
  auto r = call(subjects::node_op(node, "pool"), [&](flatbuffers::FlatBufferBuilder& b) {
    return std::make_pair(bp::Body::PoolStatsQuery, bp::CreatePoolStatsQuery(b).Union());
  });
  if (!r) return r.error();
  const auto* s = r->get().body_as_PoolStats();
  if (!s) return wrong_body("PoolStats", r->get());
  std::vector<PoolTemplateStats> out;
  if (s->templates())
    for (const auto* t : *s->templates())
      out.push_back(PoolTemplateStats{str(t->template_name()), str(t->strategy()), t->warm(), t->min_warm(),
                                      t->max_size(), t->hits(), t->misses(), t->discarded(), t->acquire_p50_us(),
                                      t->acquire_p99_us()});
  return out;
}

}  // namespace soulbox::client
