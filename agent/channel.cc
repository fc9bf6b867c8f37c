#include "agent/channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace soulbox::agent {

void Channel::send(const flatbuffers::FlatBufferBuilder& fbb) {
  if (broken_) return;
  std::string frame = agentproto::encode_frame(fbb);
  queued_ += frame.size();
  out_.push_back(std::move(frame));
  flush();
}

bool Channel::flush() {
  while (!out_.empty() && !broken_) {
    const std::string& head = out_.front();
    const ssize_t n = ::send(fd_, head.data() + out_offset_, head.size() - out_offset_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      broken_ = true;
      break;
    }
    out_offset_ += size_t(n);
    queued_ -= size_t(n);
    if (out_offset_ == head.size()) {
      out_.pop_front();
      out_offset_ = 0;
    }
  }
  return !broken_;
}

Channel::ReadResult Channel::read(const std::function<void(const agentproto::Frame&)>& on_frame) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return ReadResult::closed;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return ReadResult::closed;
    }
    reader_.append(buf, size_t(n));
    const agentproto::Frame* frame = nullptr;
    for (;;) {
      const auto status = reader_.next(frame);
      if (status == agentproto::FrameReader::Status::need_more) break;
      if (status == agentproto::FrameReader::Status::bad_frame) return ReadResult::bad_frame;
      on_frame(*frame);
    }
  }
  return ReadResult::ok;
}

}  // namespace soulbox::agent
