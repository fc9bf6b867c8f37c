// The agent's end of the host channel: non-blocking, framed (see
// messages/agent.fbs). Outgoing frames queue here when the host reads slowly;
// the agent stops reading process output while the queue is above its high
// watermark, so a flood never grows the queue without bound.
#pragma once
#include <deque>
#include <functional>
#include <string>

#include "messages/agent_protocol.h"

namespace soulbox::agent {

class Channel {
 public:
  static constexpr size_t kHighWatermark = 4u << 20;
  static constexpr size_t kLowWatermark = 1u << 20;

  explicit Channel(int fd) : fd_(fd) {}

  int fd() const { return fd_; }
  // Queues a finished frame and writes as much as the socket takes (unless
  // corked).
  void send(const flatbuffers::FlatBufferBuilder& fbb);
  // While corked, frames only queue; uncorking writes them together (one
  // sendmsg), so the frames one wake-up of the agent produced reach the host
  // in one wake-up too.
  void cork() { corked_ = true; }
  bool uncork() {
    corked_ = false;
    return flush();
  }
  // Writes queued bytes; call on EPOLLOUT. False when the host is gone.
  bool flush();
  size_t queued_bytes() const { return queued_; }
  bool congested() const { return queued_ > kHighWatermark; }
  bool drained() const { return queued_ < kLowWatermark; }
  bool wants_write() const { return queued_ > 0; }

  enum class ReadResult { ok, closed, bad_frame };
  // Reads what is available and calls `on_frame` for every whole frame.
  ReadResult read(const std::function<void(const agentproto::Frame&)>& on_frame);

 private:
  int fd_;
  std::deque<std::string> out_;
  size_t out_offset_ = 0;
  size_t queued_ = 0;
  bool broken_ = false;
  bool corked_ = false;
  agentproto::FrameReader reader_;
};

}  // namespace soulbox::agent
