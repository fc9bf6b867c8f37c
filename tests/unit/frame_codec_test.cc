// The agent protocol's framing rejects malformed input instead of trusting it.
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
