// Bus messages are verified before use; bad ones get errors, never trust.
#include "messages/bus_codec.h"

#include <catch2/catch.hpp>
#include <random>

using namespace soulbox;
namespace bp = soulbox::busproto;

namespace {
std::string create_envelope(const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = bp::CreateCreateSandbox(fbb, fbb.CreateString("base"), 256u << 20, 1.0f, 64);
  auto env = bp::CreateEnvelope(fbb, fbb.CreateString(request_id), fbb.CreateString("acme"), fbb.CreateString("key-1"),
                                0, 0, bp::Body::CreateSandbox, body.Union());
  bp::FinishEnvelopeBuffer(fbb, env);
  return bp::finish(fbb);
}
}  // namespace

TEST_CASE("an envelope round-trips through verification", "[unit][bus]") {
  const std::string bytes = create_envelope("req-1");
  auto env = bp::open_envelope(bytes);
  REQUIRE(env.ok());
  CHECK((*env)->request_id()->str() == "req-1");
  CHECK((*env)->tenant()->str() == "acme");
  const auto* create = (*env)->body_as_CreateSandbox();
  REQUIRE(create);
  CHECK(create->template_name()->str() == "base");
  CHECK(create->pids() == 64);
}

TEST_CASE("malformed, oversized and mistyped buffers are refused", "[unit][bus]") {
  const std::string empty, huge(bp::kMaxBusMessageBytes + 1, 'x');
  CHECK(bp::open_envelope(empty).error().code == ErrorCode::protocol_error);
  CHECK(bp::open_envelope(huge).error().code == ErrorCode::invalid_argument);
  // A reply is not an envelope (file identifiers differ).
  const std::string reply = bp::error_reply("r", ErrorCode::not_found, "x");
  CHECK(bp::open_envelope(reply).error().code == ErrorCode::protocol_error);
  // Truncations that cut into the data (the last bytes may be padding).
  const std::string good = create_envelope("req-2");
  for (size_t n = 0; n + 8 < good.size(); n += 3) {
    const std::string cut = good.substr(0, n);
    CHECK_FALSE(bp::open_envelope(cut).ok());
  }
  // Random bytes behind a valid identifier.
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string junk(8 + rng() % 300, '\0');
    for (auto& c : junk) c = char(rng());
    std::memcpy(&junk[4], "SBE1", 4);
    if (bp::open_envelope(junk).ok()) ++accepted;  // junk outlives the result
  }
  CHECK(accepted == 0);
}

TEST_CASE("an envelope without its required request id is refused", "[unit][bus]") {
  flatbuffers::FlatBufferBuilder fbb;
  bp::EnvelopeBuilder b(fbb);  // request_id is (required) and left out
  b.add_deadline_unix_ms(1);
  fbb.Finish(b.Finish(), bp::EnvelopeIdentifier());
  const std::string bytes = bp::finish(fbb);
  CHECK(bp::open_envelope(bytes).error().code == ErrorCode::protocol_error);
}

TEST_CASE("error replies carry the stable code and message", "[unit][bus]") {
  const std::string bytes = bp::error_reply("req-9", ErrorCode::resource_exhausted, "pool exhausted, retry");
  auto reply = bp::open_reply(bytes);
  REQUIRE(reply.ok());
  CHECK((*reply)->request_id()->str() == "req-9");
  CHECK((*reply)->code() == uint16_t(ErrorCode::resource_exhausted));
  CHECK((*reply)->message()->str() == "pool exhausted, retry");
  CHECK((*reply)->body_type() == bp::Body::NONE);
}
