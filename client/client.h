// SoulBox's C++ client over NATS: create sandboxes, run processes with
// streamed output, move files, and manage lifecycles, by sending the bus
// messages of docs/bus.md. Used by the tests, the benchmarks and (later) the
// gateway and CLI. Thread-safe for calls on different sandboxes.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/client/agent_client.h"
#include "bus/connection.h"
#include "client/code_types.h"
#include "messages/bus_codec.h"

namespace soulbox::client {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// What <data>/soulboxd.json says about reaching a node on this host.
struct NodeAddress {
  bus::ConnectOptions connect;
  std::string node;
};
// `role`: "node" (default: every right, for this host's admin tools),
// "gateway" or "publisher" (bus/bus_roles.h).
Result<NodeAddress> read_ready_file(const std::string& path, const std::string& role = "node");

struct CreateOptions {
  std::string template_name = "base";
  uint64_t memory_bytes = 0;  // 0: the node's default
  double cpus = 0;
  uint32_t pids = 0;
  uint64_t disk_bytes = 0;
  uint64_t timeout_ms = 0;  // lifetime; 0: the node's default
  bool auto_pause = false;
  KeyValues env, metadata;
  KeyValues node_selector;  // placement constraints
  std::string region, prefer_node;
  std::string node;  // set: skip placement and create there
  std::string tenant;
  std::vector<std::string> secrets;  // the tenant's secrets to set as environment variables
};

struct SandboxInfo {
  std::string id, template_name, node, tenant, end_reason;
  busproto::SandboxState state = busproto::SandboxState::Creating;
  int64_t created_unix_ms = 0, expires_unix_ms = 0;
  int64_t paused_unix_ms = 0;  // when it was paused, while it is
  uint64_t memory_bytes = 0;
  float cpus = 0;
  KeyValues metadata;
  bool pool_hit = false;  // create only
};

struct NodeHealth {
  std::string node, status, version, region;
  uint32_t sandboxes = 0;
  float cpu_capacity = 0, cpu_free = 0;
  uint64_t memory_capacity_bytes = 0, memory_free_bytes = 0;
  uint64_t bad_messages = 0;       // malformed bus messages the node refused
  uint64_t unreadable_events = 0;  // stream events the node skipped as unreadable (logged)
  // Admission by use (docs/density.md).
  uint64_t memory_in_use_bytes = 0;       // what the sandboxes use, last measured
  uint64_t new_sandbox_memory_bytes = 0;  // what a new one counts until measured
  bool cpus_reserved = false;             // false: cores shared, cpu_free not counted
};

struct PoolTemplateStats {
  std::string template_name, strategy;
  uint32_t warm = 0, min_warm = 0, max_size = 0;
  uint64_t hits = 0, misses = 0, discarded = 0;
  float acquire_p50_us = 0, acquire_p99_us = 0;
};

// A verified Reply that owns its bytes.
class OwnedReply {
 public:
  explicit OwnedReply(std::string bytes) : bytes_(std::move(bytes)) {}
  const busproto::Reply& get() const { return *busproto::GetReply(bytes_.data()); }

 private:
  std::string bytes_;
};

// Events of one stream (a process's output, a watch), queued from the bus
// thread and taken by the caller.
// Events of one stream, filled by the bus thread and read by the caller.
// Bounded: process output beyond `max_bytes` waiting to be read is dropped
// (and counted) rather than let a slow reader's memory grow; other events
// (a process's end, errors, file events) are always kept.
class EventQueue {
 public:
  explicit EventQueue(size_t max_bytes = 16u << 20) : max_bytes_(max_bytes) {}
  void push(std::string bytes);
  // The next event, or timeout.
  Result<OwnedReply> pop(int timeout_ms);
  uint64_t dropped_bytes() const { return dropped_bytes_.load(); }

 private:
  const size_t max_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> events_;
  size_t queued_bytes_ = 0;
  std::atomic<uint64_t> dropped_bytes_{0};
};

class Execution {
 public:
  int pid() const { return pid_; }
  // Output is passed to `on_output` (if set) as it arrives; returns at the
  // end. A timeout keeps what arrived: call wait() again to go on.
  Result<ProcessResult> wait(int timeout_ms, const OutputCallback& on_output = {});
  // Whether wait() also gathers the output into its result (default); a
  // streaming caller that passes everything on turns it off to stay bounded.
  void keep_output(bool keep) { keep_output_ = keep; }
  // Output the bus delivered faster than it was read, dropped (EventQueue).
  uint64_t dropped_output_bytes() const { return events_ ? events_->dropped_bytes() : 0; }

 private:
  friend class Client;
  bool keep_output_ = true;
  int pid_ = -1;
  ProcessResult partial_;
  std::shared_ptr<EventQueue> events_;
  std::unique_ptr<bus::Subscription> subscription_;
};

class Watch {
 public:
  uint32_t id() const { return id_; }
  // The next event: path and op.
  Result<std::pair<std::string, agentproto::WatchOp>> next(int timeout_ms);

 private:
  friend class Client;
  uint32_t id_ = 0;
  std::shared_ptr<EventQueue> events_;
  std::unique_ptr<bus::Subscription> subscription_;
};

// A running cell: its events as they arrive, then its end.
class CodeExecution {
 public:
  const std::string& context_id() const { return context_id_; }
  // Events go to `on_event` (if set) as they arrive; `on_batch_end` (if
  // set) after each bus message's events (several may come in one);
  // returns at the cell's end. A timeout keeps what arrived: call wait()
  // again to go on.
  Result<CodeRunResult> wait(int timeout_ms, const CodeEventCallback& on_event = {},
                             const std::function<void()>& on_batch_end = {});

 private:
  friend class Client;
  void take(const agentproto::CodeEvent& e, const CodeEventCallback& on_event);
  std::string context_id_;
  uint32_t started_count_ = 0;  // from CodeStarted: told to on_event first
  CodeRunResult partial_;
  std::shared_ptr<EventQueue> events_;
  std::unique_ptr<bus::Subscription> subscription_;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> connect(const bus::ConnectOptions& options);
  explicit Client(std::shared_ptr<bus::Connection> connection) : bus_(std::move(connection)) {}
  // A client on the same connection that speaks for `tenant` as `principal`
  // (the gateway: one per authenticated request, no new connection).
  std::unique_ptr<Client> as(const std::string& tenant, const std::string& principal,
                             const std::vector<std::string>& roles = {}) const;

  int timeout_ms = 30000;                  // per request
  size_t stream_buffer_bytes = 16u << 20;  // per stream (EventQueue): output beyond it waiting is dropped
  std::vector<std::string> roles;          // put in every envelope (principals verified outside the tenant service)
  std::string principal;                   // put in every envelope ("key:<id>" after the gateway authenticated a key)
  std::string tenant;                      // put in envelopes whose call names none

  // --- lifecycle
  Result<SandboxInfo> create(const CreateOptions& options);
  Result<SandboxInfo> info(const std::string& id);
  Result<SandboxInfo> kill(const std::string& id);
  Result<SandboxInfo> pause(const std::string& id);
  Result<SandboxInfo> resume(const std::string& id);
  Result<SandboxInfo> set_timeout(const std::string& id, uint64_t timeout_ms);
  Result<std::vector<busproto::MetricsSample>> metrics(const std::string& id, int64_t from_unix_ms = 0,
                                                       int64_t to_unix_ms = 0);
  // Sandboxes the node has records of (default: all but terminated).
  Result<std::vector<SandboxInfo>> list(const std::string& node, const std::vector<busproto::SandboxState>& states = {},
                                        const KeyValues& metadata = {});
  Result<std::string> place(const CreateOptions& options);  // the node the scheduler picks
  Result<std::string> place(const CreateOptions& options, std::string* reservation_id);

  // --- processes
  // `secrets`: names of tenant secrets added to this process's env.
  Result<std::unique_ptr<Execution>> start(const std::string& id, const ProcessSpec& spec,
                                           const std::vector<std::string>& secrets = {});
  Result<ProcessResult> run(const std::string& id, const ProcessSpec& spec, int timeout_ms = 60000,
                            const OutputCallback& on_output = {}, const std::vector<std::string>& secrets = {});
  // Follows a running process started by anyone: its output from now on and its end.
  Result<std::unique_ptr<Execution>> attach(const std::string& id, int pid);
  Status send_stdin(const std::string& id, int pid, const std::string& data, bool close = false);
  Status signal(const std::string& id, int pid, int signo);
  Status resize(const std::string& id, int pid, uint16_t rows, uint16_t cols);
  Result<std::vector<ProcessInfo>> processes(const std::string& id);
  // What a process has written so far (the agent keeps up to its output limit).
  Result<PartialOutput> output(const std::string& id, int pid);

  // --- files
  Status write_file(const std::string& id, const std::string& path, const std::string& data, uint32_t mode = 0644,
                    const std::string& user = "");
  Result<std::string> read_file(const std::string& id, const std::string& path, const std::string& user = "");
  // Up to `length` bytes from `offset` (a short answer: the end of the file).
  Result<std::string> read_range(const std::string& id, const std::string& path, uint64_t offset, uint64_t length,
                                 const std::string& user = "");
  // Files above this go in parts (one bus message carries at most 8 MiB).
  // (one agent frame at most 4 MiB).
  static constexpr size_t kUploadPartBytes = 2u << 20;
  Result<std::vector<FileInfo>> list_dir(const std::string& id, const std::string& path, uint32_t depth = 1);
  Result<FileInfo> stat(const std::string& id, const std::string& path);
  Status make_dir(const std::string& id, const std::string& path);
  Status remove(const std::string& id, const std::string& path, bool recursive = false);
  Status rename(const std::string& id, const std::string& from, const std::string& to);
  Result<std::unique_ptr<Watch>> watch(const std::string& id, const std::string& path, bool recursive);
  Status unwatch(const std::string& id, uint32_t watch_id);

  // --- code contexts (client/code_contexts.cc)
  Result<CodeContextInfo> create_context(const std::string& id, const CodeContextSpec& spec);
  Result<std::vector<CodeContextInfo>> contexts(const std::string& id);
  Result<CodeContextInfo> restart_context(const std::string& id, const std::string& context_id);
  Status remove_context(const std::string& id, const std::string& context_id);
  Status interrupt_context(const std::string& id, const std::string& context_id);
  Result<std::unique_ptr<CodeExecution>> start_code(const std::string& id, const CodeRunSpec& spec);
  Result<CodeRunResult> run_code(const std::string& id, const CodeRunSpec& spec, int wait_ms = 60000,
                                 const CodeEventCallback& on_event = {});

  // --- node
  Result<NodeHealth> health(const std::string& node);
  Result<std::vector<PoolTemplateStats>> pool_stats(const std::string& node);

  // --- raw: one request; the Reply's error code becomes an Error.
  using BodyBuilder =
      std::function<std::pair<busproto::Body, flatbuffers::Offset<void>>(flatbuffers::FlatBufferBuilder&)>;
  Result<OwnedReply> call(const std::string& subject, const BodyBuilder& body, const std::string& tenant = "");
  bus::Connection& connection() { return *bus_; }

 private:
  std::string next_request_id();
  Result<SandboxInfo> lifecycle(const std::string& id, const std::string& op, const BodyBuilder& body = {});
  Status simple(const std::string& id, const std::string& op, const BodyBuilder& body);
  Status upload_file(const std::string& id, const std::string& path, const std::string& data, uint32_t mode,
                     const std::string& user);
  // Subscribes a fresh events stream of sandbox `id`; returns its token.
  Result<std::string> open_events(const std::string& id, std::shared_ptr<EventQueue>& queue,
                                  std::unique_ptr<bus::Subscription>& subscription);

  std::shared_ptr<bus::Connection> bus_;
  std::mutex id_mu_;
  uint64_t last_id_ = 0;
  std::string id_prefix_;
};

}  // namespace soulbox::client
