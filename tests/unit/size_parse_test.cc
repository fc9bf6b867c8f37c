#include "cli/size_parse.h"

#include <catch2/catch.hpp>

using soulbox::cli::parse_size;

TEST_CASE("sizes parse with binary units", "[unit][cli]") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("64k") == 65536u);
  CHECK(parse_size("512M") == 512ull << 20);
  CHECK(parse_size("1.5G") == 3ull << 29);
  CHECK(parse_size("2GiB") == 2ull << 30);
}

TEST_CASE("bad sizes are refused", "[unit][cli]") {
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("-1M"));
  CHECK_FALSE(parse_size("12Q"));
  CHECK_FALSE(parse_size("M"));
  CHECK_FALSE(parse_size("1e30"));
}
