// The agent protocol's framing rejects malformed input instead of trusting it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "messages/agent_protocol.h"

namespace ap = soulbox::agentproto;

namespace {
std::string hello_frame() {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = ap::CreateHello(fbb, ap::kProtocolVersion, fbb.CreateString("t"));
  ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, 7, ap::Body::Hello, body.Union()));
  return ap::encode_frame(fbb);
}
}  // namespace

TEST_CASE("frames round-trip, also when split across reads", "[unit][protocol]") {
  const std::string f = hello_frame() + hello_frame();
  ap::FrameReader reader;
  const ap::Frame* frame = nullptr;
  int seen = 0;
  for (char c : f) {
    reader.append(&c, 1);
    while (reader.next(frame) == ap::FrameReader::Status::frame) {
      CHECK(frame->id() == 7);
      CHECK(frame->body_as_Hello()->protocol_version() == ap::kProtocolVersion);
      ++seen;
    }
  }
  CHECK(seen == 2);
}

TEST_CASE("oversized and garbage frames are rejected", "[unit][protocol]") {
  ap::FrameReader big;
  const char huge[4] = {0, 0, 0, 0x7f};  // 2 GiB announced
  big.append(huge, 4);
  const ap::Frame* frame = nullptr;
  CHECK(big.next(frame) == ap::FrameReader::Status::bad_frame);

  std::mt19937 rng(42);
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string body(8 + rng() % 200, '\0');
    for (auto& c : body) c = char(rng());
    std::memcpy(&body[4], "SBA1", 4);
    const uint32_t n = uint32_t(body.size());
    std::string framed = {char(n & 0xff), char((n >> 8) & 0xff), 0, 0};
    ap::FrameReader r;
    r.append((framed + body).data(), framed.size() + body.size());
    if (r.next(frame) == ap::FrameReader::Status::frame) ++accepted;
  }
  CHECK(accepted == 0);
}

// A hostile agent's flood of the smallest frames must cost the host work in
// proportion to the bytes, not to bytes x frames: the reader once erased the
// consumed prefix for every frame (8 MiB of such frames took 39 s).
TEST_CASE("a flood of small frames is parsed with linear work", "[unit][protocol]") {
  const std::string one = hello_frame();
  std::string flood;
  while (flood.size() < (8u << 20)) flood += one;
  const size_t frames = flood.size() / one.size();
  // All at once (what one long read gathers) and in the channel's 64 KiB reads.
  for (const size_t read_size : {flood.size(), size_t(65536)}) {
    ap::FrameReader reader;
    const ap::Frame* frame = nullptr;
    size_t seen = 0;
    for (size_t at = 0; at < flood.size(); at += read_size) {
      reader.append(flood.data() + at, std::min(read_size, flood.size() - at));
      while (reader.next(frame) == ap::FrameReader::Status::frame) ++seen;
    }
    CHECK(seen == frames);
    CHECK(reader.buffered() == 0);
    INFO("read size " << read_size);
    CHECK(reader.bytes_moved() <= flood.size());  // each byte moved at most once
  }
}

// FlatBuffers reads scalars in place, so a frame's bytes must start on an
// aligned address. A hostile agent sends a frame whose length is not a
// multiple of 4 (a valid buffer plus a trailing byte): the next frame then
// starts at an odd offset in the reader's buffer, and reading it in place
// was a misaligned load (UBSan found it in the agent_frame fuzz target).
TEST_CASE("a frame after an odd-length one is read from an aligned address", "[unit][protocol]") {
  std::string first = hello_frame();
  first.push_back('\0');  // the body grows by one byte, still a valid buffer
  first[0] = char(first[0] + 1);
  const std::string stream = first + hello_frame();
  ap::FrameReader reader;
  reader.append(stream.data(), stream.size());
  const ap::Frame* frame = nullptr;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(reader.next(frame) == ap::FrameReader::Status::frame);
    // The root table starts with a 4-byte vtable offset.
    CHECK(reinterpret_cast<uintptr_t>(frame) % alignof(uint32_t) == 0);
    CHECK(frame->body_as_Hello()->protocol_version() == ap::kProtocolVersion);
  }
  // What the host keeps of it is the bytes as they came.
  CHECK(reader.last_frame_encoded() == hello_frame());
}
