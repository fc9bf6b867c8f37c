// Audit events about one sandbox (resource "sandbox/<id>" or a path in it),
// numbered per sandbox (docs/audit.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "actors/sandbox_actor.h"
#include "audit/audit_chain.h"

namespace soulbox::actors {

audit::Event sandbox_event(SandboxSelf* self, const std::string& action, const std::string& result,
                           const std::string& principal, const std::string& path = "",
                           const nlohmann::json& details = nlohmann::json::object());

// An event about an act that changes no stored state (a process started, a
// file read): sent to the audit actor, which appends it. State changes
// write theirs with the change instead (sandbox_lifecycle.cc).
void audit_event(SandboxSelf* self, const std::string& action, const std::string& result, const std::string& principal,
                 const std::string& path = "", const nlohmann::json& details = nlohmann::json::object());

}  // namespace soulbox::actors
