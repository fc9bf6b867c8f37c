// Constants of the host <-> agent protocol and the framing codec both sides
// use. Header-only: the agent is a static binary with no library besides libc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "agent_generated.h"

namespace soulbox::agentproto {

// Bump on every behavioural change of the protocol.
inline constexpr uint32_t kProtocolVersion = 3;  // 2: FileListReply.truncated, bounded replies; 3: code contexts
// The host refuses agents older than this: code contexts (3) are served by
// every sandbox, so an older agent could not do what the host offers.
inline constexpr uint32_t kMinAgentProtocolVersion = 3;
inline constexpr const char* kAgentVersion = "0.1.0";
// Neither side accepts a frame larger than this.
inline constexpr uint32_t kMaxFrameBytes = 4u << 20;
// The agent passes the channel to itself on this fd number.
inline constexpr int kChannelFd = 3;

// Prepends the 4-byte little-endian length to a finished builder's buffer.
inline std::string encode_frame(const flatbuffers::FlatBufferBuilder& fbb) {
  const uint32_t n = fbb.GetSize();
  std::string out(4 + n, '\0');
  out[0] = static_cast<char>(n & 0xff);
  out[1] = static_cast<char>((n >> 8) & 0xff);
  out[2] = static_cast<char>((n >> 16) & 0xff);
  out[3] = static_cast<char>((n >> 24) & 0xff);
  std::memcpy(out.data() + 4, fbb.GetBufferPointer(), n);
  return out;
}

// Accumulates bytes from a stream and yields whole, verified frames.
// The consumed prefix is dropped (by one move of what follows it) only when
// it is at least as long as what follows: each byte is moved at most once,
// so the work stays linear in the input however small the frames (erasing
// it per frame made the host's reader quadratic under a flood of tiny ones).
class FrameReader {
 public:
  enum class Status { need_more, frame, bad_frame };

  void append(const char* data, size_t n) {
    compact();
    buf_.append(data, n);
  }

  // On Status::frame, `frame` points into an internal buffer valid until the
  // next call of next() or append(). On bad_frame the stream is unusable:
  // close it.
  Status next(const Frame*& frame) {
    const size_t begin = end_;
    const size_t left = buf_.size() - begin;
    if (left < 4) return Status::need_more;
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + begin);
    const uint32_t n = p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24);
    if (n > kMaxFrameBytes || n < 8) return Status::bad_frame;
    if (left < 4 + size_t(n)) return Status::need_more;
    const uint8_t* body = aligned(reinterpret_cast<const uint8_t*>(buf_.data() + begin + 4), n);
    flatbuffers::Verifier verifier(body, n, /*max_depth=*/16, /*max_tables=*/100000);
    if (!VerifyFrameBuffer(verifier)) return Status::bad_frame;
    frame = GetFrame(body);
    begin_ = begin;
    end_ = begin + 4 + size_t(n);
    return Status::frame;
  }

  // The bytes of the frame last returned by next() (without the length).
  std::string last_frame_bytes() const { return buf_.substr(begin_ + 4, end_ - begin_ - 4); }
  // The same frame with its 4-byte length in front, as it came (valid as
  // long as the frame is).
  std::string_view last_frame_encoded() const { return std::string_view(buf_).substr(begin_, end_ - begin_); }

  size_t buffered() const { return buf_.size() - end_; }
  // Bytes moved to the front so far: at most what was appended.
  uint64_t bytes_moved() const { return bytes_moved_; }

 private:
  // FlatBuffers reads scalars in place, so the body must start on an address
  // aligned for its widest scalar. Frames the project encodes keep it so
  // (their sizes are multiples of the builder's alignment); after a hostile
  // odd-length frame the body is copied to aligned scratch memory, which
  // costs a copy of that frame only.
  const uint8_t* aligned(const uint8_t* body, uint32_t n) {
    if (reinterpret_cast<uintptr_t>(body) % alignof(uint64_t) == 0) return body;
    scratch_.resize((n + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    std::memcpy(scratch_.data(), body, n);
    return reinterpret_cast<const uint8_t*>(scratch_.data());
  }

  void compact() {
    const size_t left = buf_.size() - end_;
    if (end_ == 0 || left > end_) return;  // moving now would cost more than it frees
    buf_.erase(0, end_);
    bytes_moved_ += left;
    begin_ = end_ = 0;
  }

  std::string buf_;
  std::vector<uint64_t> scratch_;  // an unaligned frame's body, copied
  size_t begin_ = 0, end_ = 0;     // the frame last returned; unread bytes start at end_
  uint64_t bytes_moved_ = 0;
};

}  // namespace soulbox::agentproto
