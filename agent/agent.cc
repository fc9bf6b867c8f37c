#include "agent/agent.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>

#include "agent/replies.h"

namespace soulbox::agent {
namespace ap = agentproto;

namespace {
// The sooner of two epoll timeouts (-1: none).
int earliest(int a, int b) {
  if (a < 0) return b;
  if (b < 0) return a;
  return std::min(a, b);
}
}  // namespace

Agent::Agent(int channel_fd, const AgentOptions& options)
    : channel_(channel_fd),
      processes_(loop_, channel_, options.output_limit),
      files_(channel_),
      watches_(loop_, channel_),
      contexts_(loop_, channel_, options.output_limit) {
  processes_.set_other_child_handler([this](pid_t pid, int status) { return contexts_.on_child_exit(pid, status); });
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signals_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  ::signal(SIGPIPE, SIG_IGN);
  loop_.add(signals_.get(), EPOLLIN, [this](uint32_t) {
    struct signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == ssize_t(sizeof info)) {
    }
    processes_.reap_children();
  });
  loop_.add(channel_.fd(), EPOLLIN, [this](uint32_t events) { on_channel(events); });
}

void Agent::on_channel(uint32_t events) {
  if (events & EPOLLOUT) {
    if (!channel_.flush()) running_ = false;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    const auto result = channel_.read([this](const ap::Frame& frame) { dispatch(frame); });
    if (result == Channel::ReadResult::bad_frame) {
      // A peer that sends malformed frames is not the host we trust: stop.
      exit_status_ = 3;
      running_ = false;
    } else if (result == Channel::ReadResult::closed) {
      running_ = false;
    }
  }
}

void Agent::dispatch(const ap::Frame& frame) {
  const uint64_t id = frame.id();
  switch (frame.body_type()) {
    case ap::Body::ProcStart:
      return processes_.start(id, *frame.body_as_ProcStart());
    case ap::Body::ProcInput:
      return processes_.input(id, *frame.body_as_ProcInput());
    case ap::Body::ProcSignal:
      return processes_.signal(id, *frame.body_as_ProcSignal());
    case ap::Body::ProcResize:
      return processes_.resize(id, *frame.body_as_ProcResize());
    case ap::Body::ProcList:
      return processes_.list(id);
    case ap::Body::ProcOutputQuery:
      return processes_.query_output(id, *frame.body_as_ProcOutputQuery());
    case ap::Body::KillAll:
      return processes_.kill_all(id);
    case ap::Body::FileRead:
      return files_.read(id, *frame.body_as_FileRead());
    case ap::Body::FileWrite:
      return files_.write(id, *frame.body_as_FileWrite());
    case ap::Body::FileList:
      return files_.list(id, *frame.body_as_FileList());
    case ap::Body::FileStat:
      return files_.stat(id, *frame.body_as_FileStat());
    case ap::Body::MakeDir:
      return files_.make_dir(id, *frame.body_as_MakeDir());
    case ap::Body::Remove:
      return files_.remove(id, *frame.body_as_Remove());
    case ap::Body::Rename:
      return files_.rename(id, *frame.body_as_Rename());
    case ap::Body::WatchStart:
      return watches_.start(id, *frame.body_as_WatchStart());
    case ap::Body::WatchStop:
      return watches_.stop(id, *frame.body_as_WatchStop());
    case ap::Body::CtxCreate:
      return contexts_.create(id, *frame.body_as_CtxCreate());
    case ap::Body::CtxList:
      return contexts_.list(id);
    case ap::Body::CtxRestart:
      return contexts_.restart(id, *frame.body_as_CtxRestart());
    case ap::Body::CtxRemove:
      return contexts_.remove(id, *frame.body_as_CtxRemove());
    case ap::Body::CtxInterrupt:
      return contexts_.interrupt(id, *frame.body_as_CtxInterrupt());
    case ap::Body::CodeRun:
      return contexts_.run(id, *frame.body_as_CodeRun());
    default:
      return reply_error(channel_, id, ErrorCode::invalid_argument,
                         std::string("the agent does not serve ") + ap::EnumNameBody(frame.body_type()));
  }
}

void Agent::apply_backpressure() {
  if (channel_.congested()) {
    processes_.pause_output(true);
    contexts_.pause_output(true);
  } else if (channel_.drained()) {
    processes_.pause_output(false);
    contexts_.pause_output(false);
  }
  if (files_.has_pending_reads()) files_.pump_reads();
  loop_.modify(channel_.fd(), EPOLLIN | (channel_.wants_write() ? EPOLLOUT : 0u));
}

int Agent::run() {
  send_frame(channel_, 0, [](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(ap::Body::Hello,
                          ap::CreateHello(fbb, ap::kProtocolVersion, fbb.CreateString(ap::kAgentVersion)).Union());
  });
  while (running_) {
    apply_backpressure();
    int timeout = earliest(processes_.next_deadline_ms(), contexts_.next_deadline_ms());
    if (files_.has_pending_reads() && !channel_.congested()) timeout = 0;
    channel_.cork();  // what this wake-up sends leaves in one write
    loop_.run_once(timeout);
    processes_.enforce_deadlines();
    contexts_.enforce_deadlines();
    if (!channel_.uncork()) running_ = false;
  }
  return exit_status_;
}

}  // namespace soulbox::agent
