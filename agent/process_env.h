// The environment and program lookup every process the agent starts gets
// (user processes and code-context kernels alike).
#pragma once
#include <string>
#include <vector>

#include "agent/users.h"

namespace soulbox::agent {

// Minimal, predictable environment (measured: host variables such as
// NODE_EXTRA_CA_CERTS cost interpreters tens of ms and leak host details).
std::vector<std::string> default_env(const UserIdentity& user, bool pty);

// Sets KEY=VALUE entries over `env` (a later entry wins); entries without a
// key are skipped.
void apply_env(std::vector<std::string>& env, const std::vector<std::string>& entries);

// argv[0] without a slash is looked up on the PATH of `env`; "" when absent.
std::string resolve_program(const std::string& name, const std::vector<std::string>& env);

}  // namespace soulbox::agent
