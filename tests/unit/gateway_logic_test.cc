// The gateway's pure pieces: Connect envelopes, percent-decoding, error
// mapping and sandbox access tokens.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/access_token.h"
#include "gateway/connect_frame.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_json.h"
#include "gateway/http_server.h"

namespace {

using namespace soulbox;
using namespace soulbox::gateway;

TEST_CASE("Connect envelopes round-trip and malformed ones are refused", "[gateway]") {
  const std::string frame = connect_frame(R"({"event":{"start":{"pid":7}}})");
  CHECK(frame.size() == 5 + 29);
  CHECK(frame[0] == 0);
  CHECK(frame.substr(1, 4) == std::string("\0\0\0\x1d", 4));
  auto parsed = parse_connect_frames(frame + connect_end());
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0].json == R"({"event":{"start":{"pid":7}}})");
  CHECK((*parsed)[1].flags == kEndOfStream);
  CHECK((*parsed)[1].json == "{}");
  const Error e{ErrorCode::not_found, "no such process"};
  CHECK(connect_end(&e).substr(5) == R"({"error":{"code":"not_found","message":"no such process"}})");
  CHECK_FALSE(parse_connect_frames(frame.substr(0, 10)).ok());
  CHECK_FALSE(parse_connect_frames(std::string("\x01\0\0\0\x02{}", 7)).ok());  // compressed
  CHECK_FALSE(parse_connect_frames(std::string("\0\xff\xff\xff\xff", 5)).ok());
  CHECK(parse_connect_frames("")->empty());
}

TEST_CASE("errors map to E2B's statuses and Connect codes", "[gateway]") {
  CHECK(http_status(ErrorCode::not_found) == 404);
  CHECK(http_status(ErrorCode::resource_exhausted) == 429);
  CHECK(http_status(ErrorCode::path_escape) == 400);
  CHECK(http_status(ErrorCode::internal) == 500);
  CHECK(std::string(connect_code(ErrorCode::already_exists)) == "already_exists");
  CHECK(std::string(connect_code(ErrorCode::timeout)) == "deadline_exceeded");
  CHECK(error_body(404, "gone") == R"({"code":404,"message":"gone"})");
}

TEST_CASE("percent-decoding refuses broken escapes", "[gateway]") {
  CHECK(*percent_decode("%2Fhome%2Fuser%2Fa%20b") == "/home/user/a b");
  CHECK_FALSE(percent_decode("%2").ok());
  CHECK_FALSE(percent_decode("%zz").ok());
  CHECK(*percent_decode("plain") == "plain");
}

TEST_CASE("access tokens open their own sandbox only, under their own key", "[gateway]") {
  char dir[] = "/tmp/soulbox-token-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  const std::string path = std::string(dir) + "/key";
  auto tokens = AccessTokens::load_or_create(path);
  REQUIRE(tokens.ok());
  const std::string t = (*tokens)->token_for("sb-1");
  CHECK(t.rfind("sbt_", 0) == 0);
  CHECK((*tokens)->check("sb-1", t));
  CHECK_FALSE((*tokens)->check("sb-2", t));
  CHECK_FALSE((*tokens)->check("sb-1", t.substr(0, t.size() - 1) + (t.back() == 'a' ? 'b' : 'a')));
  CHECK_FALSE((*tokens)->check("sb-1", ""));
  auto again = AccessTokens::load_or_create(path);  // the same key from the file
  CHECK((*again)->check("sb-1", t));
  ::unlink(path.c_str());
  auto other = AccessTokens::load_or_create(path);  // a new key: old tokens fail
  CHECK_FALSE((*other)->check("sb-1", t));
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_CASE("E2B's endAt: a running sandbox's expiry, a paused one's pause, never the epoch", "[gateway]") {
  client::SandboxInfo s;
  s.created_unix_ms = 1700000000000;
  s.expires_unix_ms = 1700000300000;
  s.state = busproto::SandboxState::Running;
  CHECK(sandbox_json(s, "0.6.13")["endAt"] == "2023-11-14T22:18:20Z");
  s.state = busproto::SandboxState::Paused;
  s.expires_unix_ms = 0;  // a paused sandbox does not expire
  s.paused_unix_ms = 1700000060000;
  CHECK(sandbox_json(s, "0.6.13")["endAt"] == "2023-11-14T22:14:20Z");
  CHECK(sandbox_json(s, "0.6.13")["startedAt"] == "2023-11-14T22:13:20Z");
  s.paused_unix_ms = 0;  // a node that does not say when
  CHECK(sandbox_json(s, "0.6.13")["endAt"] == "2023-11-14T22:13:20Z");
}

}  // namespace
