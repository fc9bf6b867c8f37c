// The agent's side of the kernel protocol (agent/kernel_wire.h): request
// bytes, event framing across arbitrary read boundaries, error payloads.
#include "agent/kernel_wire.h"

#include <catch2/catch.hpp>
#include <string>

using namespace soulbox::agent;

namespace {

std::string describe(const KernelEvent& e) {
  switch (e.kind) {
    case KernelEvent::Kind::stdout_bytes:
      return "out[" + std::string(e.payload) + "]";
    case KernelEvent::Kind::stderr_bytes:
      return "err[" + std::string(e.payload) + "]";
    case KernelEvent::Kind::line:
      break;
  }
  return std::string(e.name) + (e.payload.empty() ? "" : "(" + std::string(e.payload) + ")");
}

// Feeds `wire` in pieces of `step` bytes and describes every event read.
std::string read_all(const std::string& wire, size_t step) {
  KernelEventReader reader(1 << 20);
  std::string seen;
  for (size_t at = 0; at < wire.size(); at += step) {
    reader.append(wire.data() + at, std::min(step, wire.size() - at));
    while (auto e = reader.next()) seen += describe(*e) + " ";
  }
  return seen;
}

}  // namespace

TEST_CASE("a cell request is NUL-separated fields with the env count", "[unit][kernel]") {
  const std::string r = cell_request("print(1)", {"A=1", "B=x y"});
  static const char want[] =
      "x\0print(1)\0"
      "2\0A=1\0B=x y\0";
  CHECK(r == std::string(want, sizeof want - 1));
  static const char empty[] =
      "x\0\0"
      "0\0";
  CHECK(cell_request("", {}) == std::string(empty, sizeof empty - 1));
}

TEST_CASE("kernel events are read whole whatever the read boundaries", "[unit][kernel]") {
  const std::string wire =
      "ready\nout 6\nhi\nyo\nerr 3\n\n\n\nresult {\"text\": \"42\"}\nerror {\"name\":\"E\"}\nend\n";
  const std::string want = "ready out[hi\nyo\n] err[\n\n\n] result({\"text\": \"42\"}) error({\"name\":\"E\"}) end ";
  for (size_t step : {size_t(1), size_t(2), size_t(5), size_t(7), wire.size()}) {
    INFO("step " << step);
    CHECK(read_all(wire, step) == want);
  }
}

TEST_CASE("output bytes may hold anything, newlines and NUL included", "[unit][kernel]") {
  KernelEventReader reader(1 << 20);
  const std::string bytes("a\0\nb", 4);
  const std::string wire = "out 4\n" + bytes + "end\n";
  reader.append(wire.data(), 8);  // the bytes not all here yet
  CHECK_FALSE(reader.next().has_value());
  reader.append(wire.data() + 8, wire.size() - 8);
  auto out = reader.next();
  REQUIRE(out);
  CHECK(out->kind == KernelEvent::Kind::stdout_bytes);
  CHECK(out->payload == bytes);
  auto end = reader.next();
  REQUIRE(end);
  CHECK(end->name == "end");
  CHECK_FALSE(reader.next().has_value());
}

TEST_CASE("a kernel that never ends a line overflows the reader", "[unit][kernel]") {
  KernelEventReader reader(16);
  reader.append("ready\n", 6);
  REQUIRE(reader.next());
  const std::string noise(17, 'x');
  reader.append(noise.data(), noise.size());
  CHECK_FALSE(reader.next().has_value());
  CHECK(reader.overflowed());
  reader.clear();
  CHECK_FALSE(reader.overflowed());
  reader.append("end\n", 4);
  auto end = reader.next();
  REQUIRE(end);
  CHECK(end->name == "end");
}

TEST_CASE("output announced larger than the reader takes marks the kernel broken at once", "[unit][kernel]") {
  KernelEventReader reader(16);
  const std::string wire = "out 17\nabc";
  reader.append(wire.data(), wire.size());
  CHECK_FALSE(reader.next().has_value());
  CHECK(reader.overflowed());  // not waiting for bytes that would never fit
}

TEST_CASE("error payloads escape what JSON needs escaped", "[unit][kernel]") {
  CHECK(json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\u000a\\u0001\"");
  CHECK(error_json("KernelDied", "it \"died\"") ==
        "{\"name\":\"KernelDied\",\"value\":\"it \\\"died\\\"\",\"traceback\":\"KernelDied: it \\\"died\\\"\"}");
}
