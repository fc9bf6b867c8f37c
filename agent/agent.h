// soulbox-agent's core: PID 1 of the sandbox. Serves the host channel,
// reaps every process of the namespace, and exits when the host goes away
// (which, as PID 1, takes every process of the sandbox with it).
#pragma once
#include <cstdint>

#include "agent/channel.h"
#include "agent/context_service.h"
#include "agent/event_loop.h"
#include "agent/file_service.h"
#include "agent/process_table.h"
#include "agent/watch_service.h"
#include "common/unique_fd.h"

namespace soulbox::agent {

struct AgentOptions {
  uint64_t output_limit = 16ull << 20;
};

class Agent {
 public:
  Agent(int channel_fd, const AgentOptions& options);
  // Returns the agent's exit status once the host has closed the channel.
  int run();

 private:
  void dispatch(const agentproto::Frame& frame);
  void on_channel(uint32_t events);
  void apply_backpressure();

  EventLoop loop_;
  Channel channel_;
  ProcessTable processes_;
  FileService files_;
  WatchService watches_;
  ContextService contexts_;
  unique_fd signals_;
  bool running_ = true;
  int exit_status_ = 0;
};

}  // namespace soulbox::agent
