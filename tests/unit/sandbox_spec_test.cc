#include "isolation/sandbox_spec.h"

#include <catch2/catch.hpp>

using namespace soulbox::isolation;

TEST_CASE("the default spec is valid", "[unit][spec]") {
  CHECK(validate_spec(SandboxSpec{}).ok());
}

TEST_CASE("out-of-range limits get a clear error", "[unit][spec]") {
  SandboxSpec s;
  s.limits.memory_bytes = 1024;
  auto st = validate_spec(s);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == soulbox::ErrorCode::invalid_argument);
  CHECK_THAT(st.error().message, Catch::Contains("memory limit must be between"));

  s = SandboxSpec{};
  s.limits.cpus = 1000;
  CHECK_THAT(validate_spec(s).error().message, Catch::Contains("cpus must be between"));
  s = SandboxSpec{};
  s.limits.pids = 0;
  CHECK_THAT(validate_spec(s).error().message, Catch::Contains("pids limit"));
  s = SandboxSpec{};
  s.limits.cpus = -1;
  CHECK_FALSE(validate_spec(s).ok());
}

TEST_CASE("ids, template names and bind paths are checked", "[unit][spec]") {
  CHECK(valid_sandbox_id("sb-0123_abc"));
  CHECK_FALSE(valid_sandbox_id("../etc"));
  CHECK_FALSE(valid_sandbox_id(""));
  CHECK_FALSE(valid_sandbox_id(std::string(65, 'a')));
  SandboxSpec s;
  s.template_name = "../../x";
  CHECK_FALSE(validate_spec(s).ok());
  s = SandboxSpec{};
  s.binds.push_back({"/usr/../etc", "/x", false});
  CHECK_THAT(validate_spec(s).error().message, Catch::Contains("without '.' or '..'"));
  s = SandboxSpec{};
  s.binds.push_back({"/usr", "/", false});
  CHECK_FALSE(validate_spec(s).ok());
  s = SandboxSpec{};
  s.binds.push_back({"/definitely/not/here", "/x", false});
  CHECK_THAT(validate_spec(s).error().message, Catch::Contains("does not exist"));
}
