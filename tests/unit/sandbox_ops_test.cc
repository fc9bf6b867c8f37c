// The sandbox actor's op table (actors/sandbox_ops.h): the permission each
// op needs, which ops the actor answers itself, what is audited, and that
// every op sent to the agent as it is has a body the agent takes.
#include "actors/sandbox_ops.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "actors/agent_forward.h"
#include "actors/sandbox_requests.h"

namespace {

using namespace soulbox;
using namespace soulbox::actors;
namespace bp = busproto;
using R = tenants::Resource;
using A = tenants::Action;

TEST_CASE("every sandbox op needs the permission it always needed, an unknown op system admin", "[actors]") {
  const std::map<std::string, std::pair<R, A>> expected = {
      {"info", {R::sandbox, A::read}},
      {"metrics", {R::sandbox, A::read}},
      {"ps", {R::sandbox, A::read}},
      {"output", {R::sandbox, A::read}},
      {"kill", {R::sandbox, A::delete_}},
      {"pause", {R::sandbox, A::update}},
      {"resume", {R::sandbox, A::update}},
      {"timeout", {R::sandbox, A::update}},
      {"exec", {R::sandbox, A::execute}},
      {"attach", {R::sandbox, A::execute}},
      {"stdin", {R::sandbox, A::execute}},
      {"signal", {R::sandbox, A::execute}},
      {"resize", {R::sandbox, A::execute}},
      {"killall", {R::sandbox, A::execute}},
      {"read", {R::file, A::read}},
      {"ls", {R::file, A::read}},
      {"stat", {R::file, A::read}},
      {"watch", {R::file, A::read}},
      {"unwatch", {R::file, A::read}},
      {"write", {R::file, A::create}},
      {"upload", {R::file, A::create}},
      {"mkdir", {R::file, A::create}},
      {"mv", {R::file, A::update}},
      {"rm", {R::file, A::delete_}},
      {"code", {R::sandbox, A::execute}},
      {"ctx-list", {R::sandbox, A::read}},
      {"ctx-create", {R::sandbox, A::execute}},
      {"ctx-restart", {R::sandbox, A::execute}},
      {"ctx-remove", {R::sandbox, A::execute}},
      {"ctx-interrupt", {R::sandbox, A::execute}},
  };
  CHECK(sandbox_ops().size() == expected.size());
  for (const auto& [name, permission] : expected) {
    INFO(name);
    const SandboxOp* op = find_sandbox_op(name);
    REQUIRE(op);
    CHECK(op->name == name);
    CHECK(permission_for(op) == permission);
  }
  CHECK(find_sandbox_op("frobnicate") == nullptr);
  CHECK(permission_for(nullptr) == std::make_pair(R::system, A::admin));
}

TEST_CASE("only lifecycle ops are answered by the sandbox actor itself", "[actors]") {
  std::set<std::string> by_actor;
  for (const auto& op : sandbox_ops())
    if (!op.kind) by_actor.insert(op.name);
  CHECK(by_actor == std::set<std::string>{"info", "metrics", "kill", "pause", "resume", "timeout"});
}

TEST_CASE("file changes, reads, process starts and cells are audited with the agent's answer", "[actors]") {
  std::map<std::string, std::string> audited;
  for (const auto& op : sandbox_ops())
    if (*op.audit_action) audited[op.name] = op.audit_action;
  CHECK(audited == std::map<std::string, std::string>{{"exec", "process.start"},
                                                      {"code", "code.run"},
                                                      {"read", "file.read"},
                                                      {"write", "file.write"},
                                                      {"upload", "file.write"},
                                                      {"mkdir", "file.mkdir"},
                                                      {"mv", "file.rename"},
                                                      {"rm", "file.delete"}});
}

TEST_CASE("every op forwarded to the agent as it is takes a body the agent takes", "[actors]") {
#define SOULBOX_BODY(T) bp::Body::T,
  const std::set<bp::Body> forwardable = {SOULBOX_FORWARDED_REQUESTS(SOULBOX_BODY)};
#undef SOULBOX_BODY
  std::set<bp::Body> forwarded;
  for (const auto& op : sandbox_ops()) {
    INFO(op.name);
    CHECK(op.handler);
    if (op.handler == on_forwarded) forwarded.insert(op.body);
  }
  CHECK(forwarded == forwardable);
}

}  // namespace
