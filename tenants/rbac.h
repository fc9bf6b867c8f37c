// Role-based access: permissions are resource x action, optionally only on
// what the caller owns; roles inherit from parent roles. Built-in roles:
// admin (everything), developer (work with sandboxes, templates, files and
// the network; no system administration), viewer (read only).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::tenants {

enum class Resource { sandbox, template_, file, network, system };
enum class Action { create, read, update, delete_, execute, connect, admin };

const char* resource_name(Resource r);
const char* action_name(Action a);
Result<Resource> parse_resource(const std::string& name);
Result<Action> parse_action(const std::string& name);

struct Permission {
  Resource resource;
  Action action;
  bool own_only = false;  // condition: only resources the caller created
};

struct Role {
  std::string name;
  std::vector<std::string> parents;
  std::vector<Permission> permissions;
};

using RoleSet = std::map<std::string, Role>;

// "resource:action" or "resource:action:own".
std::string permission_string(const Permission& p);
Result<Permission> parse_permission(const std::string& text);

// admin, developer, viewer.
RoleSet builtin_roles();

// A tenant's own role checked against `defined` (the built-in ones and the
// tenant's others): a new name, known parents, valid permissions.
Status check_custom_role(const RoleSet& defined, const Role& role);

// True when one of `roles` (or a role they inherit, cycles ignored) grants
// `action` on `resource`; own_only permissions count only when `is_owner`.
bool authorize(const RoleSet& defined, const std::vector<std::string>& roles, Resource resource, Action action,
               bool is_owner);

}  // namespace soulbox::tenants
