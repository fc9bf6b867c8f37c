#include "gateway/create_request.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace soulbox::gateway {
using json = nlohmann::json;

namespace {

Error invalid(const std::string& message) {
  return Error{ErrorCode::invalid_argument, message};
}

// Each field of E2B's create body, checked, and copied into the options
// when SoulBox honours it. A value that asks for what SoulBox does anyway
// is honoured; one that asks for something it does not do is refused.
using FieldCheck = Status (*)(const json& value, bool legacy_route, client::CreateOptions& o);

Status template_id(const json& v, bool, client::CreateOptions& o) {
  if (!v.is_string() || v.get<std::string>().empty())
    return invalid("templateID must be a template's name (a non-empty string)");
  o.template_name = v.get<std::string>();
  return {};
}

Status timeout(const json& v, bool, client::CreateOptions& o) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > 86400 * 30)
    return invalid("timeout must be a number of seconds (at most 30 days)");
  o.timeout_ms = v.get<uint64_t>() * 1000;
  return {};
}

Status strings(const json& v, const char* field, client::KeyValues& into) {
  if (!v.is_object()) return invalid(std::string(field) + " must be an object of strings");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_string()) return invalid(std::string(field) + " must be an object of strings");
    into.emplace_back(it.key(), it.value().get<std::string>());
  }
  return {};
}

Status metadata(const json& v, bool, client::CreateOptions& o) {
  return strings(v, "metadata", o.metadata);
}

Status env_vars(const json& v, bool, client::CreateOptions& o) {
  return strings(v, "envVars", o.env);
}

Status auto_pause(const json& v, bool, client::CreateOptions& o) {
  if (!v.is_boolean()) return invalid("autoPause must be true or false");
  o.auto_pause = v.get<bool>();
  return {};
}

// SoulBox pauses by freezing: the memory is kept, as E2B's default snapshot does.
Status auto_pause_memory(const json& v, bool, client::CreateOptions&) {
  if (!v.is_boolean()) return invalid("autoPauseMemory must be true or false");
  if (!v.get<bool>())
    return invalid(
        "autoPauseMemory false (a filesystem-only snapshot) is not supported: a paused sandbox keeps its memory");
  return {};
}

// A paused sandbox resumes through connect; traffic does not wake it.
Status auto_resume(const json& v, bool, client::CreateOptions&) {
  if (!v.is_object() || v.size() != 1 || !v.contains("enabled") || !v["enabled"].is_boolean())
    return invalid("autoResume must be {\"enabled\": true|false}");
  if (v["enabled"].get<bool>())
    return invalid("autoResume is not supported: a paused sandbox resumes through connect, not on traffic");
  return {};
}

// The in-sandbox API always wants the sandbox's envdAccessToken.
Status secure(const json& v, bool, client::CreateOptions&) {
  if (!v.is_boolean()) return invalid("secure must be true or false");
  if (!v.get<bool>())
    return invalid("secure false is not supported: the in-sandbox API always requires the access token");
  return {};
}

// Sandboxes have loopback only. E2B's SDKs up to 2.45 send `true` on every
// create (to POST /sandboxes) whatever their user asked, so there it asks
// nothing and is let through; on the other routes it is the user's request.
Status allow_internet_access(const json& v, bool legacy_route, client::CreateOptions&) {
  if (!v.is_boolean()) return invalid("allow_internet_access must be true or false");
  if (v.get<bool>() && !legacy_route)
    return invalid("allow_internet_access true is not supported: sandboxes have loopback only (no network egress)");
  return {};
}

Status network(const json& v, bool, client::CreateOptions&) {
  if (v.is_object() && v.empty()) return {};  // no rules asked for
  return invalid("network (egress rules, public traffic) is not supported: sandboxes have loopback only");
}

Status volume_mounts(const json& v, bool, client::CreateOptions&) {
  if (v.is_array() && v.empty()) return {};  // nothing to mount
  return invalid("volumeMounts is not supported yet");
}

Status mcp(const json&, bool, client::CreateOptions&) {
  return invalid("mcp is not supported yet: SoulBox runs no MCP gateway");
}

Status iam(const json&, bool, client::CreateOptions&) {
  return invalid("iam (workload tokens) is not supported yet");
}

// Every field of E2B's NewSandbox and NewSandboxV2, in the order checked.
const std::vector<std::pair<std::string, FieldCheck>>& fields() {
  static const std::vector<std::pair<std::string, FieldCheck>> all = {
      {"templateID", template_id},
      {"timeout", timeout},
      {"metadata", metadata},
      {"envVars", env_vars},
      {"autoPause", auto_pause},
      {"autoPauseMemory", auto_pause_memory},
      {"autoResume", auto_resume},
      {"secure", secure},
      {"allow_internet_access", allow_internet_access},
      {"network", network},
      {"volumeMounts", volume_mounts},
      {"mcp", mcp},
      {"iam", iam},
  };
  return all;
}

// The body's fields that are not E2B's, named (the first few, cut short:
// the answer must not echo a huge body back).
std::string unknown_fields(const json& body) {
  constexpr size_t kMaxNamed = 5, kMaxName = 64;
  std::string names;
  size_t unknown = 0;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const auto& known = fields();
    if (std::any_of(known.begin(), known.end(), [&](const auto& f) { return f.first == it.key(); })) continue;
    if (++unknown > kMaxNamed) continue;
    const std::string& name = it.key();
    names += (names.empty() ? "" : ", ") + name.substr(0, kMaxName) + (name.size() > kMaxName ? "..." : "");
  }
  if (unknown > kMaxNamed) names += " and " + std::to_string(unknown - kMaxNamed) + " more";
  return names;
}

}  // namespace

Result<client::CreateOptions> create_options(const json& body, bool legacy_route) {
  if (const std::string unknown = unknown_fields(body); !unknown.empty())
    return invalid("unknown field(s) in the create body: " + unknown + " (not in E2B's NewSandbox)");
  if (!body.contains("templateID"))
    return invalid(
        "templateID is required: the template to create the sandbox from (\"base\" by default in E2B's SDKs)");
  client::CreateOptions o;
  for (const auto& [name, check] : fields()) {
    const auto it = body.find(name);
    // null is a field not given, as E2B's server reads it (templateID excepted).
    if (it == body.end() || (it->is_null() && name != "templateID")) continue;
    if (auto ok = check(*it, legacy_route, o); !ok) return ok.error();
  }
  return o;
}

}  // namespace soulbox::gateway
