// The two identities user code can run as inside a sandbox.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace soulbox::agent {

struct UserIdentity {
  uint32_t uid;
  uint32_t gid;
  const char* home;
  const char* name;
};

// "" and "user" -> uid 1000; "root" -> uid 0 (no capabilities). Else nullopt.
inline std::optional<UserIdentity> lookup_user(const std::string& name) {
  if (name.empty() || name == "user") return UserIdentity{1000, 1000, "/home/user", "user"};
  if (name == "root") return UserIdentity{0, 0, "/root", "root"};
  return std::nullopt;
}

}  // namespace soulbox::agent
