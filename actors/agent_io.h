// One thread that reads every agent channel of the node. Sandbox actors
// never block on their agent: this thread splits the byte stream into
// verified frames and sends those of one read to the owning actor together
// as (agent_atom, bytes): each frame with its 4-byte little-endian length;
// when a channel closes or breaks it sends agent_eof_atom once. Actors write
// their requests to the channel themselves (small frames; the agent always
// reads).
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

class AgentIo {
 public:
  static Result<std::unique_ptr<AgentIo>> start();
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
  };
  AgentIo(unique_fd epoll, unique_fd wake) : epoll_(std::move(epoll)), wake_(std::move(wake)) {}
  void run();
  void drain(int fd, Channel& channel);  // called with mu_ held

  unique_fd epoll_, wake_;
  std::mutex mu_;
  std::unordered_map<int, Channel> channels_;
  std::thread thread_;
};

}  // namespace soulbox::actors
