// `soulbox sandbox list`'s columns: aligned whatever the widths of the cells.
#include "cli/soulbox/text_columns.h"

#include <catch2/catch.hpp>

namespace {

using soulbox::cli::text_columns;

TEST_CASE("text columns are as wide as their widest cell with two spaces between", "[cli]") {
  CHECK(text_columns({{"SANDBOX", "TEMPLATE", "STATE"},
                      {"sb-1", "code-interpreter-v1", "running"},
                      {"sb-0123456789abcdef", "base", "paused"}}) ==
        "SANDBOX              TEMPLATE             STATE\n"
        "sb-1                 code-interpreter-v1  running\n"
        "sb-0123456789abcdef  base                 paused\n");
  CHECK(text_columns({{"A", "B"}}) == "A  B\n");  // the last cell is not padded
  CHECK(text_columns({}).empty());
  CHECK(text_columns({{"x", "", "y"}, {"", "long", ""}}) == "x        y\n   long  \n");
}

}  // namespace
