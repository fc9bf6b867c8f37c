// ContextService, the cells' half: starting queued cells, the kernel's
// events and output, ending cells, deadlines. (context_service.cc has the
// contexts, their kernels and the requests.)
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "agent/context_service.h"
#include "agent/kernel_wire.h"
#include "agent/replies.h"
#include "common/monotonic_clock.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {

constexpr size_t kMaxArtifacts = 100;
// A result over this cannot travel in one agent frame with its envelope.
constexpr size_t kMaxResultBytes = ap::kMaxFrameBytes - (64u << 10);

}  // namespace

// --- cells --------------------------------------------------------------------

void ContextService::pump(Context& c) {
  if (const uint32_t count = start_next(c)) send_event(*c.running, ap::CodeEventKind::ExecutionCount, "", count);
}

uint32_t ContextService::start_next(Context& c) {
  if (!c.ready || c.running || c.queued.empty() || c.kernel.pid < 0) return 0;
  c.running = std::move(c.queued.front());
  c.queued.pop_front();
  Cell& cell = *c.running;
  // The baseline of the cell's artifacts is the cwd as it starts: what
  // changed since the last look (another context's cell, the file API, a
  // background process) was not this cell's doing.
  if (c.file_changes.changed()) rescan_files(c);
  cell.start_ns = monotonic_ns();
  if (cell.timeout_ms) cell.deadline_ns = cell.start_ns + int64_t(cell.timeout_ms) * 1000000;
  c.pending_request = std::move(cell.request);
  flush_request(c);
  // Counted here, not by the kernel: one event less on the kernel's side.
  return cell.execution_count = ++c.execution_count;
}

// The request pipe is non-blocking: a kernel that stopped reading never
// blocks the agent; the rest goes when the pipe has room.
void ContextService::flush_request(Context& c) {
  const int fd = c.kernel.requests.get();
  while (!c.pending_request.empty() && fd >= 0) {
    const ssize_t n = ::write(fd, c.pending_request.data(), c.pending_request.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {  // the kernel is gone: its exit is reaped and reported
      c.pending_request.clear();
      break;
    }
    c.pending_request.erase(0, size_t(n));
  }
  if (fd < 0) return;
  if (c.pending_request.empty()) {
    if (c.request_watched) loop_.remove(fd);  // (an epoll_ctl only when the pipe was full)
    c.request_watched = false;
    return;
  }
  const std::string id = c.id;
  if (!c.request_watched)
    loop_.add(fd, EPOLLOUT, [this, id](uint32_t) {
      if (Context* ctx = find(id)) flush_request(*ctx);
    });
  c.request_watched = true;
}

void ContextService::on_events(const std::string& context_id) {
  Context* c = find(context_id);
  if (!c || !c->kernel.events) return;
  // A kernel the agent condemned may have written more before SIGKILL landed
  // (a forged header, then its own result and end): what it says now is read
  // and dropped, so its cell ends with the KernelDied its exit reports.
  const bool condemned = !c->killed_because.empty();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(c->kernel.events.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // EAGAIN
    if (n == 0) {      // closed: the kernel is exiting (its exit is reaped), or a
                       // cell closed fd 3 and the kernel could never report again
      loop_.remove(c->kernel.events.get());
      c->kernel.events.reset();
      kill_kernel(*c, "its events pipe (fd 3) was closed");
      break;
    }
    if (!condemned) c->events.append(buf, size_t(n));
    if (size_t(n) < sizeof buf) break;
  }
  if (condemned) return;
  const std::string id = c->id;
  while (auto event = c->events.next()) {
    if (event->kind != KernelEvent::Kind::line) {
      const int stream = event->kind == KernelEvent::Kind::stdout_bytes ? 0 : 1;
      forward_output(*c, stream, event->payload.data(), event->payload.size());
      continue;
    }
    handle_event(*c, event->name, event->payload);
    if (!find(id) || !c->kernel.events) return;  // the kernel was replaced meanwhile
  }
  if (c->events.overflowed()) {  // it would never complete an event
    kill_kernel(*c, "it broke the event protocol (kernels/README.md); was fd 3 written to?");
    c->events.clear();
  }
}

void ContextService::handle_event(Context& c, std::string_view kind, std::string_view payload) {
  if (kind == "ready") {
    c.ready = true;
    return pump(c);
  }
  if (!c.running) return;
  Cell& cell = *c.running;
  if (kind == "result") {
    drain_output(c);
    if (payload.size() <= kMaxResultBytes) return send_event(cell, ap::CodeEventKind::Result, payload);
    send_event(cell, ap::CodeEventKind::Result,
               "{\"is_main_result\":false,\"text\":" +
                   json_string("[a result of " + std::to_string(payload.size()) +
                               " bytes was dropped: results travel in frames of at most 4 MiB]") +
                   "}");
  } else if (kind == "error") {
    drain_output(c);
    cell.error = true;
    if (!cell.timed_out) return send_event(cell, ap::CodeEventKind::Error, payload);
    send_event(cell, ap::CodeEventKind::Error,
               error_json("TimeoutError",
                          "the cell ran longer than its timeout of " + std::to_string(cell.timeout_ms) + " ms"));
  } else if (kind == "end") {
    drain_output(c);
    finish_cell(c, false);
  }
}

void ContextService::send_event(const Cell& cell, ap::CodeEventKind kind, std::string_view data, uint32_t count) {
  send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return std::make_pair(ap::Body::CodeEvent, ap::CreateCodeEvent(fbb, kind, bytes, count).Union());
  });
}

// Its artifacts are the files that changed while it ran (start_next took
// the baseline). Which process changed them is not known: a cell of another
// context running at the same time in the same directory shares them.
void ContextService::finish_cell(Context& c, bool restarted) {
  const Cell cell = std::move(*c.running);
  c.running.reset();
  std::vector<ArtifactInfo> changed;
  if (c.file_changes.changed()) {  // a cell that touched no file costs no scan
    const DirSnapshot before = std::move(c.files);
    rescan_files(c);
    changed = changed_files(before, c.files);
  }
  if (changed.size() > kMaxArtifacts) changed.resize(kMaxArtifacts);
  const uint64_t wall_us = uint64_t(monotonic_ns() - cell.start_ns) / 1000;
  send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<ap::Artifact>> artifacts;
    for (const auto& a : changed)
      artifacts.push_back(ap::CreateArtifact(fbb, fbb.CreateString(a.path), fbb.CreateString(a.mime), a.size));
    auto end = ap::CreateCodeEnd(fbb, cell.error, cell.timed_out, cell.interrupted, restarted, wall_us,
                                 cell.execution_count, fbb.CreateVector(artifacts));
    return std::make_pair(ap::Body::CodeEnd, end.Union());
  });
  pump(c);
}

void ContextService::rescan_files(Context& c) {
  std::vector<std::string> dirs;
  c.files = snapshot_dir(c.cwd, &dirs);
  c.file_changes.watch(dirs);
}

// Ends the running cell and every queued one with an error: the kernel they
// were meant for is gone.
void ContextService::fail_cells(Context& c, const std::string& name, const std::string& why) {
  if (c.running) {
    c.running->error = true;
    send_event(*c.running, ap::CodeEventKind::Error, error_json(name, why));
    const Cell cell = std::move(*c.running);
    c.running.reset();
    send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(ap::Body::CodeEnd,
                            ap::CreateCodeEnd(fbb, true, cell.timed_out, cell.interrupted, true,
                                              uint64_t(monotonic_ns() - cell.start_ns) / 1000, cell.execution_count)
                                .Union());
    });
  }
  for (const Cell& cell : c.queued) {
    send_event(cell, ap::CodeEventKind::Error, error_json(name, why));
    send_frame(channel_, cell.frame_id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      return std::make_pair(ap::Body::CodeEnd, ap::CreateCodeEnd(fbb, true).Union());
    });
  }
  c.queued.clear();
}

// --- output -------------------------------------------------------------------

void ContextService::on_output(const std::string& context_id, int stream) {
  Context* c = find(context_id);
  if (!c) return;
  unique_fd& fd = stream == 0 ? c->kernel.out : c->kernel.err;
  char buf[65536];
  size_t budget = 256u << 10;  // one noisy kernel cannot starve the loop
  while (fd && budget > 0) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN
    if (n == 0) {
      loop_.remove(fd.get());
      fd.reset();
      return;
    }
    budget -= std::min(budget, size_t(n));
    forward_output(*c, stream, buf, size_t(n));
  }
}

// Output goes to the running cell, up to the output limit; output between
// cells (a background thread) has no cell to go to.
void ContextService::forward_output(Context& c, int stream, const char* data, size_t n) {
  if (!c.ready) {  // a kernel starting: kept (the end of it) to explain a death
    constexpr size_t kKept = 2048;
    c.startup_output.append(data, n);
    if (c.startup_output.size() > kKept) c.startup_output.erase(0, c.startup_output.size() - kKept);
    return;
  }
  if (!c.running) return;
  Cell& cell = *c.running;
  const uint64_t room = output_limit_ > cell.output_bytes ? output_limit_ - cell.output_bytes : 0;
  const size_t keep = size_t(std::min<uint64_t>(room, uint64_t(n)));
  cell.output_bytes += keep;
  if (keep > 0)
    send_event(cell, stream == 0 ? ap::CodeEventKind::Stdout : ap::CodeEventKind::Stderr, std::string_view(data, keep));
  if (keep < n && !cell.output_cut) {  // said once, past the limit
    cell.output_cut = true;
    send_event(cell, ap::CodeEventKind::Stderr,
               "\n[soulbox: this cell's output passed " + std::to_string(output_limit_ >> 20) +
                   " MiB; the rest of it was dropped]\n");
  }
}

// The kernel wrote its output before the event that follows it: read what
// is in the pipes first, so the host sees them in order.
void ContextService::drain_output(Context& c) {
  const std::string id = c.id;
  for (int stream = 0; stream < 2; ++stream) {
    for (int rounds = 0; rounds < 32; ++rounds) {  // 32 x 256 KiB at most
      unique_fd& fd = stream == 0 ? c.kernel.out : c.kernel.err;
      int available = 0;
      if (!fd || ::ioctl(fd.get(), FIONREAD, &available) != 0 || available == 0) break;
      on_output(id, stream);
    }
  }
}

// --- time -----------------------------------------------------------------------

int ContextService::next_deadline_ms() const {
  int64_t next = 0;
  for (const auto& [id, c] : contexts_) {
    if (!c->running) continue;
    const Cell& cell = *c->running;
    for (int64_t t : {cell.timed_out ? 0 : cell.deadline_ns, cell.kill_at_ns})
      if (t && (next == 0 || t < next)) next = t;
  }
  return ms_until(next);
}

void ContextService::enforce_deadlines() {
  const int64_t now = monotonic_ns();
  for (auto& [id, c] : contexts_) {
    if (!c->running || c->kernel.pid < 0) continue;
    Cell& cell = *c->running;
    if (cell.deadline_ns && !cell.timed_out && now >= cell.deadline_ns) {
      cell.timed_out = true;
      ::kill(-c->kernel.pid, SIGINT);
      if (!cell.kill_at_ns) cell.kill_at_ns = now + kInterruptGraceMs * 1000000;
    } else if (cell.kill_at_ns && now >= cell.kill_at_ns) {
      // It would not stop: SIGKILL, and on_child_exit replaces the kernel.
      ::kill(-c->kernel.pid, SIGKILL);
      cell.kill_at_ns = 0;
    }
  }
}

void ContextService::pause_output(bool paused) {
  if (paused == output_paused_) return;
  output_paused_ = paused;
  for (auto& [id, c] : contexts_)
    for (unique_fd* fd : {&c->kernel.events, &c->kernel.out, &c->kernel.err})
      if (*fd) loop_.modify(fd->get(), paused ? 0u : uint32_t(EPOLLIN));
}

}  // namespace soulbox::agent
