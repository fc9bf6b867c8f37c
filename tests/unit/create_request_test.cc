// A create's body, field by field: templateID required, what SoulBox
// honours turned into create options, every other option refused naming it.
#include "gateway/create_request.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace {

using namespace soulbox;
using namespace soulbox::gateway;
using json = nlohmann::json;

// The error message of a refused body ("" when it was accepted).
std::string refusal(const std::string& body, bool legacy_route = false) {
  auto o = create_options(json::parse(body), legacy_route);
  if (o) return "";
  CHECK(o.error().code == ErrorCode::invalid_argument);
  return o.error().message;
}

TEST_CASE("a create names its template", "[gateway][create]") {
  for (const char* body : {R"({})", R"({"timeout":60})", R"({"templateID":""})", R"({"templateID":7})",
                           R"({"templateID":null})", R"({"templateID":["base"]})"}) {
    INFO(body);
    CHECK(refusal(body).find("templateID") != std::string::npos);
    CHECK(refusal(body, true).find("templateID") != std::string::npos);
  }
  auto o = create_options(json::parse(R"({"templateID":"code-interpreter-v1"})"), false);
  REQUIRE(o.ok());
  CHECK(o->template_name == "code-interpreter-v1");
}

TEST_CASE("what SoulBox honours becomes create options", "[gateway][create]") {
  auto o = create_options(json::parse(R"({"templateID":"base","timeout":90,"metadata":{"a":"1"},
                                          "envVars":{"X":"y"},"autoPause":true})"),
                          false);
  REQUIRE(o.ok());
  CHECK(o->template_name == "base");
  CHECK(o->timeout_ms == 90000);
  CHECK(o->metadata == client::KeyValues{{"a", "1"}});
  CHECK(o->env == client::KeyValues{{"X", "y"}});
  CHECK(o->auto_pause);
  // Values that match what SoulBox does are honoured as they are.
  const std::string matching = R"({"templateID":"base","allow_internet_access":false,"secure":true,
      "autoPause":false,"autoPauseMemory":true,"autoResume":{"enabled":false},"network":{},"volumeMounts":[]})";
  CHECK(refusal(matching) == "");
  // null is an option not given (as E2B's server reads it).
  const std::string nulls = R"({"templateID":"base","timeout":null,"metadata":null,"envVars":null,"autoPause":null,
      "autoPauseMemory":null,"autoResume":null,"secure":null,"allow_internet_access":null,"network":null,
      "volumeMounts":null,"mcp":null,"iam":null})";
  CHECK(refusal(nulls) == "");
  auto defaults = create_options(json::parse(nulls), false);
  REQUIRE(defaults.ok());
  CHECK(defaults->timeout_ms == client::CreateOptions{}.timeout_ms);
  CHECK_FALSE(defaults->auto_pause);
}

TEST_CASE("every option SoulBox does not honour is refused naming it", "[gateway][create]") {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {R"("allow_internet_access":true)", "allow_internet_access"},
      {R"("network":{"allowOut":["1.1.1.1"]})", "network"},
      {R"("network":{"denyOut":["0.0.0.0/0"]})", "network"},
      {R"("network":{"allowPublicTraffic":false})", "network"},
      {R"("volumeMounts":[{"name":"v","path":"/data"}])", "volumeMounts"},
      {R"("mcp":{"github":{}})", "mcp"},
      {R"("mcp":{})", "mcp"},
      {R"("iam":{"tokens":{}})", "iam"},
      {R"("autoResume":{"enabled":true})", "autoResume"},
      {R"("autoPauseMemory":false)", "autoPauseMemory"},
      {R"("secure":false)", "secure"},
      // not in E2B's create schema at all, or of the wrong type
      {R"("frobnicate":1)", "frobnicate"},
      {R"("templateId":"base")", "templateId"},
      {R"("autoPause":"yes")", "autoPause"},
      {R"("autoPauseMemory":"no")", "autoPauseMemory"},
      {R"("secure":1)", "secure"},
      {R"("allow_internet_access":"false")", "allow_internet_access"},
      {R"("autoResume":true)", "autoResume"},
      {R"("autoResume":{})", "autoResume"},
      {R"("autoResume":{"enabled":false,"policy":"any"})", "autoResume"},
      {R"("network":[])", "network"},
      {R"("volumeMounts":{})", "volumeMounts"},
      {R"("timeout":-1)", "timeout"},
      {R"("timeout":2592001)", "timeout"},
      {R"("metadata":{"a":1})", "metadata"},
      {R"("envVars":[])", "envVars"},
  };
  for (const auto& [field, named] : refused) {
    const std::string body = R"({"templateID":"base",)" + field + "}";
    INFO(body);
    CHECK(refusal(body).find(named) != std::string::npos);
  }
  // Several unknown fields: all are named.
  const std::string many = refusal(R"({"templateID":"base","zeta":1,"alpha":2})");
  CHECK(many.find("alpha") != std::string::npos);
  CHECK(many.find("zeta") != std::string::npos);
  // A flood of them is named in short: the answer does not echo the body back.
  json flood{{"templateID", "base"}};
  for (int i = 0; i < 1000; ++i) flood[std::string(1000, 'x') + std::to_string(i)] = i;
  const auto named = create_options(flood, false);
  REQUIRE_FALSE(named.ok());
  CHECK(named.error().message.size() < 600);
  CHECK(named.error().message.find("and 995 more") != std::string::npos);
}

TEST_CASE("allow_internet_access true (sent by every create of E2B's SDKs up to 2.45) is accepted on their route only",
          "[gateway][create]") {
  const std::string old_sdk =
      R"({"templateID":"base","timeout":300,"secure":true,"allow_internet_access":true,"autoPause":false,
          "metadata":{},"envVars":{}})";
  CHECK(refusal(old_sdk, /*legacy_route=*/true) == "");
  CHECK(refusal(old_sdk, /*legacy_route=*/false).find("allow_internet_access") != std::string::npos);
  // Everything else is refused on the old route as on the new one.
  CHECK(refusal(R"({"templateID":"base","secure":false})", true).find("secure") != std::string::npos);
  CHECK(refusal(R"({"templateID":"base","network":{"allowOut":["a"]}})", true).find("network") != std::string::npos);
}

}  // namespace
