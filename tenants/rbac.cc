#include "tenants/rbac.h"

namespace soulbox::tenants {
namespace {

constexpr Resource kResources[] = {Resource::sandbox, Resource::template_, Resource::file, Resource::network,
                                   Resource::system};
constexpr Action kActions[] = {Action::create,  Action::read,    Action::update, Action::delete_,
                               Action::execute, Action::connect, Action::admin};

bool grants(const RoleSet& defined, const std::string& role, Resource resource, Action action, bool is_owner,
            std::set<std::string>& visited) {
  if (!visited.insert(role).second) return false;  // a cycle, or seen through another parent
  auto it = defined.find(role);
  if (it == defined.end()) return false;
  for (const auto& p : it->second.permissions)
    if (p.resource == resource && p.action == action && (!p.own_only || is_owner)) return true;
  for (const auto& parent : it->second.parents)
    if (grants(defined, parent, resource, action, is_owner, visited)) return true;
  return false;
}

}  // namespace

const char* resource_name(Resource r) {
  switch (r) {
    case Resource::sandbox:
      return "sandbox";
    case Resource::template_:
      return "template";
    case Resource::file:
      return "file";
    case Resource::network:
      return "network";
    case Resource::system:
      return "system";
  }
  return "?";
}

const char* action_name(Action a) {
  switch (a) {
    case Action::create:
      return "create";
    case Action::read:
      return "read";
    case Action::update:
      return "update";
    case Action::delete_:
      return "delete";
    case Action::execute:
      return "execute";
    case Action::connect:
      return "connect";
    case Action::admin:
      return "admin";
  }
  return "?";
}

Result<Resource> parse_resource(const std::string& name) {
  for (Resource r : kResources)
    if (name == resource_name(r)) return r;
  return Error{ErrorCode::invalid_argument,
               "unknown resource '" + name + "' (sandbox, template, file, network, system)"};
}

Result<Action> parse_action(const std::string& name) {
  for (Action a : kActions)
    if (name == action_name(a)) return a;
  return Error{ErrorCode::invalid_argument,
               "unknown action '" + name + "' (create, read, update, delete, execute, connect, admin)"};
}

std::string permission_string(const Permission& p) {
  return std::string(resource_name(p.resource)) + ":" + action_name(p.action) + (p.own_only ? ":own" : "");
}

Result<Permission> parse_permission(const std::string& text) {
  const Error bad{ErrorCode::invalid_argument,
                  "permission '" + text + "' is not resource:action or resource:action:own"};
  const auto first = text.find(':');
  if (first == std::string::npos) return bad;
  const auto second = text.find(':', first + 1);
  auto resource = parse_resource(text.substr(0, first));
  if (!resource) return resource.error();
  auto action =
      parse_action(text.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1));
  if (!action) return action.error();
  bool own = false;
  if (second != std::string::npos) {
    if (text.substr(second + 1) != "own") return bad;
    own = true;
  }
  return Permission{*resource, *action, own};
}

Status check_custom_role(const RoleSet& defined, const Role& role) {
  static const RoleSet builtin = builtin_roles();
  if (builtin.count(role.name))
    return Error{ErrorCode::invalid_argument, "'" + role.name + "' is a built-in role and cannot be redefined"};
  if (role.name.empty() || role.name.size() > 64 ||
      role.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
    return Error{ErrorCode::invalid_argument, "role names are 1-64 of [a-z0-9_-]"};
  for (const auto& parent : role.parents)
    if (parent == role.name || !defined.count(parent))
      return Error{ErrorCode::invalid_argument, "role '" + role.name + "': unknown parent role '" + parent + "'"};
  return {};
}

RoleSet builtin_roles() {
  Role viewer{"viewer", {}, {}};
  for (Resource r : kResources)
    if (r != Resource::system) viewer.permissions.push_back({r, Action::read, false});
  Role developer{"developer", {"viewer"}, {}};
  for (Resource r : {Resource::sandbox, Resource::template_, Resource::file, Resource::network})
    for (Action a : {Action::create, Action::update, Action::delete_, Action::execute, Action::connect})
      developer.permissions.push_back({r, a, false});
  Role admin{"admin", {"developer"}, {}};
  for (Resource r : kResources)
    for (Action a : kActions) admin.permissions.push_back({r, a, false});
  return {{"viewer", viewer}, {"developer", developer}, {"admin", admin}};
}

bool authorize(const RoleSet& defined, const std::vector<std::string>& roles, Resource resource, Action action,
               bool is_owner) {
  std::set<std::string> visited;
  for (const auto& role : roles)
    if (grants(defined, role, resource, action, is_owner, visited)) return true;
  return false;
}

}  // namespace soulbox::tenants
