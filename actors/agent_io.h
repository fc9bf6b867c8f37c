// One thread that reads every agent channel of the node. Sandbox actors
// never block on their agent: this thread splits the byte stream into
// verified frames and sends those of one read to the owning actor together
// as (agent_atom, bytes): each frame with its 4-byte little-endian length.
// When a channel closes it sends agent_eof_atom once; when the agent breaks
// the protocol (a malformed frame, a flood) it sends (agent_broken_atom,
// why) once instead and stops reading it. Actors write their requests to
// the channel themselves (small frames; the agent always reads).
//
// The agent is untrusted, and this thread serves every sandbox: a channel
// is read in turns of bounded size, so no agent holds the thread while
// others wait.
#pragma once
#include <caf/all.hpp>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/result.h"
#include "common/unique_fd.h"
#include "messages/agent_protocol.h"

namespace soulbox::actors {

struct AgentIoLimits {
  // Read from one channel per readiness event; the rest waits for its next
  // turn (the channels are level-triggered, so it is never lost).
  size_t read_bytes_per_turn = 256u << 10;
  // More frames than this within one second mark the agent as broken (0:
  // no limit). A real agent sends a frame per read of output, per watch
  // event or per answer: ~60 000 a second at most under tight output loops
  // or file churn (measured on 2 cores); a flood of tiny frames, millions.
  uint64_t max_frames_per_second = 1000000;
};

class AgentIo {
 public:
  static Result<std::unique_ptr<AgentIo>> start(AgentIoLimits limits = {});
  ~AgentIo();  // stops the thread; owners must have called forget()

  // Frames arriving on `fd` go to `owner` until forget(fd).
  Status watch(int fd, caf::actor owner);
  // After this returns no more messages for `fd` are sent, and the caller
  // may close it.
  void forget(int fd);

 private:
  struct Channel {
    caf::actor owner;
    agentproto::FrameReader reader;
    int64_t window_start_ns = 0;  // the current one-second window of frames
    uint64_t window_frames = 0;
  };
  AgentIo(unique_fd epoll, unique_fd wake, AgentIoLimits limits)
      : epoll_(std::move(epoll)), wake_(std::move(wake)), limits_(limits) {}
  void run();
  // Called with mu_ held.
  void turn(int fd, Channel& channel);
  bool read_some(int fd, Channel& channel);  // false: EOF or error
  std::string take_frames(Channel& channel, std::string* broken);
  void stop_watching(int fd);

  unique_fd epoll_, wake_;
  const AgentIoLimits limits_;
  std::mutex mu_;
  std::unordered_map<int, Channel> channels_;
  std::thread thread_;
};

}  // namespace soulbox::actors
