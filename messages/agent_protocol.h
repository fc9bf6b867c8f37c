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
// The host refuses agents older than this.
inline constexpr uint32_t kMinAgentProtocolVersion = 1;
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
class FrameReader {
 public:
  enum class Status { need_more, frame, bad_frame };

  void append(const char* data, size_t n) { buf_.append(data, n); }

  // On Status::frame, `frame` points into an internal buffer valid until the
  // next call. On bad_frame the stream is unusable: close it.
  Status next(const Frame*& frame) {
    if (consumed_ > 0) {
      buf_.erase(0, consumed_);
      consumed_ = 0;
    }
    if (buf_.size() < 4) return Status::need_more;
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
    const uint32_t n = p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24);
    if (n > kMaxFrameBytes || n < 8) return Status::bad_frame;
    if (buf_.size() < 4 + size_t(n)) return Status::need_more;
    const auto* body = reinterpret_cast<const uint8_t*>(buf_.data() + 4);
    flatbuffers::Verifier verifier(body, n, /*max_depth=*/16, /*max_tables=*/100000);
    if (!VerifyFrameBuffer(verifier)) return Status::bad_frame;
    frame = GetFrame(body);
    consumed_ = 4 + size_t(n);
    return Status::frame;
  }

  // The bytes of the frame last returned by next() (without the length).
  std::string last_frame_bytes() const { return buf_.substr(4, consumed_ - 4); }
  // The same frame with its 4-byte length in front, as it came (valid until
  // the next call of next()).
  std::string_view last_frame_encoded() const { return std::string_view(buf_).substr(0, consumed_); }

  size_t buffered() const { return buf_.size() - consumed_; }

 private:
  std::string buf_;
  size_t consumed_ = 0;
};

}  // namespace soulbox::agentproto
