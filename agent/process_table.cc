#include "agent/process_table.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/process_env.h"
#include "agent/replies.h"
#include "agent/spawn.h"
#include "agent/users.h"
#include "common/monotonic_clock.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {

// How long after a resize the agent sets the asked size again if the
// terminal's size was written back (ProcessTable::resize).
constexpr int64_t kKeepAskedSizeNs = 2'000'000'000;

std::vector<std::string> build_env(const ap::ProcStart& req, const UserIdentity& user, bool pty) {
  std::vector<std::string> env = default_env(user, pty);
  std::vector<std::string> entries;
  if (req.env())
    for (const auto* kv : *req.env()) entries.push_back(kv->str());
  apply_env(env, entries);
  return env;
}

bool valid_c_string(const flatbuffers::String* s) {
  return s && std::memchr(s->data(), '\0', s->size()) == nullptr;
}

}  // namespace

struct ProcessTable::Process {
  uint64_t id = 0;
  pid_t pid = -1;
  std::vector<std::string> argv;
  std::string tag;
  bool pty = false;
  std::array<unique_fd, 2> out;  // stdout, stderr (pty: [0] is the master)
  unique_fd in;                  // stdin pipe (pty: a dup of the master)
  std::array<std::string, 2> captured;
  std::array<uint64_t, 2> streamed{0, 0};
  uint64_t limit = 0;
  bool truncated = false;
  std::string pending_input;
  bool close_input_when_flushed = false;
  int64_t start_ns = 0;
  int64_t deadline_ns = 0;
  // The size last asked for, and until when the agent makes sure it holds
  // (resize below).
  struct winsize asked_size {};
  int64_t keep_size_until_ns = 0;
  bool timed_out = false;
  bool running = true;
  int exit_code = -1;
  int signal = 0;
};

ProcessTable::ProcessTable(EventLoop& loop, Channel& channel, uint64_t default_output_limit)
    : loop_(loop),
      channel_(channel),
      default_output_limit_(default_output_limit),
      dev_null_(::open("/dev/null", O_RDWR | O_CLOEXEC)) {}

ProcessTable::~ProcessTable() = default;

ProcessTable::Process* ProcessTable::find(pid_t pid) {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : it->second.get();
}

// The child's side of its stdio: pipe ends, or the pty slave it opens.
struct ProcessTable::ChildStdio {
  unique_fd in, out, err;
  std::string pty_slave;
};

// Opens pipes or a pty; the agent's ends go into `p` (non-blocking,
// close-on-exec).
Result<ProcessTable::ChildStdio> ProcessTable::open_stdio(Process& p, const ap::ProcStart& req,
                                                          const UserIdentity& user) {
  ChildStdio child;
  if (p.pty) {
    unique_fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
    char name[128];
    if (!master || ::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 ||
        ::ptsname_r(master.get(), name, sizeof name) != 0)
      return sys_error("pty", errno, ErrorCode::internal);
    child.pty_slave = name;
    (void)!::chown(name, user.uid, user.gid);
    struct winsize ws {};
    ws.ws_row = req.pty()->rows() ? req.pty()->rows() : 24;
    ws.ws_col = req.pty()->cols() ? req.pty()->cols() : 80;
    ::ioctl(master.get(), TIOCSWINSZ, &ws);
    p.in.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
    p.out[0] = std::move(master);
    return child;
  }
  int fds[2];
  for (int s = 0; s < 2; ++s) {
    if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("pipe", errno, code_for_errno(errno));
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    p.out[s].reset(fds[0]);
    (s == 0 ? child.out : child.err).reset(fds[1]);
  }
  if (req.stdin_open()) {
    if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("pipe", errno, code_for_errno(errno));
    ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
    child.in.reset(fds[0]);
    p.in.reset(fds[1]);
  }
  return child;
}

void ProcessTable::start(uint64_t id, const ap::ProcStart& req) {
  const auto* argv_in = req.argv();
  if (!argv_in || argv_in->size() == 0 || argv_in->size() > 4096)
    return reply_error(channel_, id, ErrorCode::invalid_argument, "argv must hold 1-4096 arguments");
  auto user = lookup_user(req.user() ? req.user()->str() : "");
  if (!user) return reply_error(channel_, id, ErrorCode::invalid_argument, "unknown user (use 'user' or 'root')");
  if (req.cwd() && !valid_c_string(req.cwd()))
    return reply_error(channel_, id, ErrorCode::invalid_argument, "cwd contains a NUL byte");
  auto p = std::make_unique<Process>();
  for (const auto* a : *argv_in) {
    if (!valid_c_string(a)) return reply_error(channel_, id, ErrorCode::invalid_argument, "argv contains a NUL byte");
    p->argv.push_back(a->str());
  }
  p->pty = req.pty() != nullptr;
  std::vector<std::string> env = build_env(req, *user, p->pty);
  const std::string program = resolve_program(p->argv[0], env);
  if (program.empty()) return reply_error(channel_, id, ErrorCode::not_found, p->argv[0] + ": command not found");
  const std::string cwd = req.cwd() && req.cwd()->size() ? req.cwd()->str() : user->home;
  auto stdio = open_stdio(*p, req, *user);
  if (!stdio) return reply_error(channel_, id, stdio.error().code, stdio.error().message);

  std::vector<char*> argv = exec_array(p->argv), envp = exec_array(env);
  SpawnRequest spawn;
  spawn.path = program.c_str();
  spawn.argv = argv.data();
  spawn.envp = envp.data();
  spawn.cwd = cwd.c_str();
  spawn.uid = user->uid;
  spawn.gid = user->gid;
  spawn.stdin_fd = stdio->in ? stdio->in.get() : dev_null_.get();
  spawn.stdout_fd = stdio->out.get();
  spawn.stderr_fd = stdio->err.get();
  spawn.pty_slave = p->pty ? stdio->pty_slave.c_str() : nullptr;
  int err = 0;
  SpawnStep failed_step;
  p->start_ns = monotonic_ns();
  const pid_t pid = spawn_process(spawn, &err, &failed_step);
  if (pid < 0)
    return reply_error(channel_, id, code_for_errno(err),
                       spawn_failure("start " + p->argv[0], spawn, err, failed_step));
  register_process(std::move(p), id, pid, req);
}

void ProcessTable::register_process(std::unique_ptr<Process> p, uint64_t id, pid_t pid, const ap::ProcStart& req) {
  p->id = id;
  p->pid = pid;
  p->tag = req.tag() ? req.tag()->str() : "";
  p->limit = req.output_limit() ? req.output_limit() : default_output_limit_;
  if (req.timeout_ms()) p->deadline_ns = p->start_ns + int64_t(req.timeout_ms()) * 1000000;
  Process& proc = *p;
  procs_[pid] = std::move(p);
  send_frame(channel_, id, [pid](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(ap::Body::ProcStarted, ap::CreateProcStarted(fbb, pid).Union());
  });
  watch_output(proc, 0);
  if (!proc.pty) watch_output(proc, 1);
}

void ProcessTable::watch_output(Process& p, int stream) {
  const pid_t pid = p.pid;
  loop_.add(p.out[stream].get(), output_paused_ ? 0u : uint32_t(EPOLLIN), [this, pid, stream](uint32_t) {
    if (Process* proc = find(pid)) read_output(*proc, stream, false);
  });
}

void ProcessTable::read_output(Process& p, int stream, bool drain) {
  char buf[65536];
  // Bounded per call so one noisy process cannot starve the loop; a drain
  // after exit reads what is left, up to a few MiB.
  size_t budget = drain ? (8u << 20) : (256u << 10);
  while (p.out[stream] && budget > 0) {
    const ssize_t n = ::read(p.out[stream].get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return close_output(p, stream);  // EOF, or EIO on a pty whose slave closed
    if (p.pty) keep_asked_size(p);
    budget -= std::min(budget, size_t(n));
    const uint64_t room = p.limit > p.streamed[stream] ? p.limit - p.streamed[stream] : 0;
    const size_t keep = size_t(std::min<uint64_t>(room, uint64_t(n)));
    if (keep < size_t(n)) p.truncated = true;
    if (keep == 0) continue;  // past the limit: drain and discard
    p.streamed[stream] += keep;
    std::string& cap = p.captured[stream];
    if (cap.size() < kCaptureBytes) cap.append(buf, std::min(keep, kCaptureBytes - cap.size()));
    const ap::Stream kind = p.pty ? ap::Stream::Pty : (stream == 0 ? ap::Stream::Stdout : ap::Stream::Stderr);
    const pid_t pid = p.pid;
    send_frame(channel_, p.id, [&](flatbuffers::FlatBufferBuilder& fbb) {
      auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>(buf), keep);
      return std::make_pair(ap::Body::ProcOutput, ap::CreateProcOutput(fbb, pid, kind, data).Union());
    });
  }
}

void ProcessTable::close_output(Process& p, int stream) {
  if (!p.out[stream]) return;
  loop_.remove(p.out[stream].get());
  p.out[stream].reset();
}

void ProcessTable::input(uint64_t id, const ap::ProcInput& req) {
  Process* p = find(req.pid());
  if (!p || !p->running)
    return reply_error(channel_, id, ErrorCode::not_found, "no running process " + std::to_string(req.pid()));
  if (!p->in) return reply_error(channel_, id, ErrorCode::invalid_argument, "stdin of this process is closed");
  if (req.data()) {
    if (p->pending_input.size() + req.data()->size() > (4u << 20))
      return reply_error(channel_, id, ErrorCode::resource_exhausted, "stdin backlog over 4 MiB");
    p->pending_input.append(reinterpret_cast<const char*>(req.data()->data()), req.data()->size());
  }
  if (req.close()) {
    if (p->pty)
      p->pending_input.push_back('\x04');  // EOF at the start of a line
    else
      p->close_input_when_flushed = true;
  }
  flush_input(*p);
  reply_ok(channel_, id);
}

void ProcessTable::flush_input(Process& p) {
  while (!p.pending_input.empty() && p.in) {
    const ssize_t n = ::write(p.in.get(), p.pending_input.data(), p.pending_input.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {  // the reader is gone
      p.pending_input.clear();
      break;
    }
    p.pending_input.erase(0, size_t(n));
  }
  const int fd = p.in.get();
  const bool done = p.pending_input.empty();
  if (done && p.close_input_when_flushed) {
    loop_.remove(fd);
    p.in.reset();
    return;
  }
  if (!done) {
    const pid_t pid = p.pid;
    if (!loop_.add(fd, EPOLLOUT, [this, pid](uint32_t) {
          if (Process* proc = find(pid)) flush_input(*proc);
        }))
      loop_.modify(fd, EPOLLOUT);
  } else {
    loop_.remove(fd);
  }
}

void ProcessTable::signal(uint64_t id, const ap::ProcSignal& req) {
  Process* p = find(req.pid());
  if (!p || !p->running)
    return reply_error(channel_, id, ErrorCode::not_found, "no running process " + std::to_string(req.pid()));
  if (req.signal() <= 0 || req.signal() >= 65)
    return reply_error(channel_, id, ErrorCode::invalid_argument, "bad signal number");
  // The process leads its own session and group: signal the whole group.
  if (::kill(-p->pid, req.signal()) != 0 && ::kill(p->pid, req.signal()) != 0)
    return reply_error(channel_, id, code_for_errno(errno), std::strerror(errno));
  reply_ok(channel_, id);
}

void ProcessTable::resize(uint64_t id, const ap::ProcResize& req) {
  Process* p = find(req.pid());
  if (!p || !p->running || !p->pty || !req.size())
    return reply_error(channel_, id, ErrorCode::not_found, "no running pty process " + std::to_string(req.pid()));
  struct winsize ws {};
  ws.ws_row = req.size()->rows();
  ws.ws_col = req.size()->cols();
  if (ws.ws_row == 0 || ws.ws_col == 0)
    return reply_error(channel_, id, ErrorCode::invalid_argument, "rows and cols must be > 0");
  if (::ioctl(p->out[0].get(), TIOCSWINSZ, &ws) != 0)
    return reply_error(channel_, id, code_for_errno(errno), std::strerror(errno));
  // Readline reads the size and writes it back each time it prepares a line
  // (TIOCGWINSZ, then TIOCSWINSZ): a resize landing between the two is
  // overwritten. For a while after a resize, the output that follows such a
  // write-back is the moment to set the asked size again (keep_asked_size).
  p->asked_size = ws;
  p->keep_size_until_ns = monotonic_ns() + kKeepAskedSizeNs;
  reply_ok(channel_, id);
}

void ProcessTable::keep_asked_size(Process& p) {
  if (!p.keep_size_until_ns) return;
  if (monotonic_ns() > p.keep_size_until_ns) {
    p.keep_size_until_ns = 0;
    return;
  }
  struct winsize now {};
  if (::ioctl(p.out[0].get(), TIOCGWINSZ, &now) != 0) return;
  if (now.ws_row != p.asked_size.ws_row || now.ws_col != p.asked_size.ws_col)
    ::ioctl(p.out[0].get(), TIOCSWINSZ, &p.asked_size);
}

void ProcessTable::list(uint64_t id) {
  send_frame(channel_, id, [this](flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<ap::ProcInfo>> infos;
    for (const auto& [pid, p] : procs_)
      infos.push_back(
          ap::CreateProcInfo(fbb, pid, fbb.CreateVectorOfStrings(p->argv), fbb.CreateString(p->tag), p->running));
    return std::make_pair(ap::Body::ProcListReply, ap::CreateProcListReply(fbb, fbb.CreateVector(infos)).Union());
  });
}

void ProcessTable::query_output(uint64_t id, const ap::ProcOutputQuery& req) {
  Process* p = find(req.pid());
  if (!p) return reply_error(channel_, id, ErrorCode::not_found, "no process " + std::to_string(req.pid()));
  send_frame(channel_, id, [p](flatbuffers::FlatBufferBuilder& fbb) {
    auto out = fbb.CreateVector(reinterpret_cast<const uint8_t*>(p->captured[0].data()), p->captured[0].size());
    auto err = fbb.CreateVector(reinterpret_cast<const uint8_t*>(p->captured[1].data()), p->captured[1].size());
    const bool cut = p->truncated || p->streamed[0] > p->captured[0].size() || p->streamed[1] > p->captured[1].size();
    return std::make_pair(ap::Body::ProcOutputReply,
                          ap::CreateProcOutputReply(fbb, out, err, !p->running, p->exit_code, p->signal, cut).Union());
  });
}

void ProcessTable::kill_all(uint64_t id) {
  // As PID 1 of the namespace, kill(-1) reaches every process but the agent.
  ::kill(-1, SIGKILL);
  reply_ok(channel_, id);
}

void ProcessTable::reap_children() {
  for (;;) {
    int status = 0;
    struct rusage usage {};
    const pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid <= 0) return;  // orphans re-parented to PID 1 are reaped here too
    Process* p = find(pid);
    if (p && p->running)
      finish(*p, status, usage);
    else if (!p && other_child_)
      other_child_(pid, status);
  }
}

void ProcessTable::finish(Process& p, int status, const struct rusage& usage) {
  for (int s = 0; s < 2; ++s) {
    if (!p.out[s]) continue;
    read_output(p, s, true);
    close_output(p, s);
  }
  if (p.in) {
    loop_.remove(p.in.get());
    p.in.reset();
  }
  p.running = false;
  if (WIFEXITED(status)) p.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) p.signal = WTERMSIG(status);
  const uint64_t wall_us = uint64_t(monotonic_ns() - p.start_ns) / 1000;
  const uint64_t cpu_us = uint64_t(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 +
                          uint64_t(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  const uint64_t rss_kb = uint64_t(usage.ru_maxrss);
  send_frame(channel_, p.id, [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(ap::Body::ProcEnd, ap::CreateProcEnd(fbb, p.pid, p.exit_code, p.signal, wall_us, cpu_us,
                                                               rss_kb, p.timed_out, p.truncated)
                                                 .Union());
  });
  finished_.push_back(p.pid);
  while (finished_.size() > kFinishedKept) {
    procs_.erase(finished_.front());
    finished_.pop_front();
  }
}

int ProcessTable::next_deadline_ms() const {
  int64_t next = 0;
  for (const auto& [pid, p] : procs_)
    if (p->running && p->deadline_ns && !p->timed_out && (next == 0 || p->deadline_ns < next)) next = p->deadline_ns;
  return ms_until(next);
}

void ProcessTable::enforce_deadlines() {
  const int64_t now = monotonic_ns();
  for (auto& [pid, p] : procs_) {
    if (!p->running || !p->deadline_ns || p->timed_out || now < p->deadline_ns) continue;
    p->timed_out = true;
    ::kill(-pid, SIGKILL);  // the whole process group
    ::kill(pid, SIGKILL);
  }
}

void ProcessTable::pause_output(bool paused) {
  if (paused == output_paused_) return;
  output_paused_ = paused;
  for (auto& [pid, p] : procs_)
    for (auto& fd : p->out)
      if (fd) loop_.modify(fd.get(), paused ? 0u : uint32_t(EPOLLIN));
}

}  // namespace soulbox::agent
