#include "agent/channel.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace soulbox::agent {

void Channel::send(const flatbuffers::FlatBufferBuilder& fbb) {
  if (broken_) return;
  std::string frame = agentproto::encode_frame(fbb);
  queued_ += frame.size();
  out_.push_back(std::move(frame));
  if (!corked_) flush();
}

bool Channel::flush() {
  while (!out_.empty() && !broken_) {
    struct iovec iov[64];
    int count = 0;
    for (auto it = out_.begin(); it != out_.end() && count < 64; ++it, ++count) {
      const size_t skip = count == 0 ? out_offset_ : 0;
      iov[count].iov_base = const_cast<char*>(it->data() + skip);
      iov[count].iov_len = it->size() - skip;
    }
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(count);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      broken_ = true;
      break;
    }
    queued_ -= size_t(n);
    while (n > 0) {  // drop what went, keep the offset into a partly sent frame
      const size_t left = out_.front().size() - out_offset_;
      if (size_t(n) < left) {
        out_offset_ += size_t(n);
        break;
      }
      n -= ssize_t(left);
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
