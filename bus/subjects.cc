#include "bus/subjects.h"

namespace soulbox::bus::subjects {

bool valid_token(const std::string& token) {
  if (token.empty() || token.size() > 64) return false;
  for (char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status check_token(const char* what, const std::string& token) {
  if (valid_token(token)) return {};
  return Error{ErrorCode::invalid_argument,
               std::string(what) + " must be 1-64 characters of [A-Za-z0-9_-], got '" + token + "'"};
}

namespace {
std::string join(std::initializer_list<std::string> parts) {
  std::string out = kPrefix;
  for (const auto& p : parts) out += "." + p;
  return out;
}
}  // namespace

std::string sched_place() {
  return join({"sched", "place"});
}
std::string node_op(const std::string& node, const std::string& op) {
  return join({"node", node, op});
}
std::string sandbox_op(const std::string& sandbox, const std::string& op) {
  return join({"sbx", sandbox, op});
}
std::string sandbox_events(const std::string& sandbox, const std::string& stream) {
  return join({"sbx", sandbox, "ev", stream});
}
std::string node_ops(const std::string& node) {
  return join({"node", node, "*"});
}
std::string sandbox_ops(const std::string& sandbox) {
  return join({"sbx", sandbox, "*"});
}
std::string last_token(const std::string& subject) {
  const auto dot = subject.rfind('.');
  return dot == std::string::npos ? subject : subject.substr(dot + 1);
}
std::string node_heartbeat(const std::string& node) {
  return join({"nodes", "hb", node});
}
std::string node_heartbeats() {
  return join({"nodes", "hb", "*"});
}
std::string tenant_op(const std::string& op) {
  return join({"tenant", op});
}
std::string tenant_ops() {
  return join({"tenant", "*"});
}
std::string tenant_node_op(const std::string& op, const std::string& node) {
  return join({"tenant", op, node});
}
std::string tenant_node_ops(const std::string& node) {
  return join({"tenant", "*", node});
}
std::string tenant_events(const std::string& tenant) {
  return join({"events", "tenant", tenant});
}
std::string tenant_events_all() {
  return join({"events", "tenant", ">"});
}
std::string usage_events(const std::string& tenant) {
  return join({"events", "usage", tenant});
}
std::string audit_op(const std::string& op) {
  return join({"audit", op});
}
std::string jobs(const std::string& tenant) {
  return join({"jobs", tenant});
}
std::string all_jobs() {
  return join({"jobs", "*"});
}
std::string job_lookup() {
  return join({"jobres", "get"});
}
std::string job_dead_letter(const std::string& tenant) {
  return join({"jobdead", tenant});
}

Status check_reply_subject(const std::string& subject) {
  auto bad = [&](const std::string& why) {
    return Error{ErrorCode::invalid_argument, "reply subject '" + subject + "' " + why};
  };
  if (subject.empty() || subject.size() > 256) return bad("must have 1-256 characters");
  size_t start = 0;
  for (;;) {
    const size_t dot = subject.find('.', start);
    const std::string token = subject.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (token.empty()) return bad("has an empty token");
    for (char c : token)
      if (c == '*' || c == '>' || c <= ' ' || c == 127) return bad("may not contain wildcards or spaces");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  const std::string jobres = std::string(kPrefix) + ".jobres.";
  if ((subject.rfind("sb.", 0) == 0 || subject.rfind("$", 0) == 0) && subject.rfind(jobres, 0) != 0)
    return bad("is reserved (sb.* other than " + jobres + "*, $*)");
  return {};
}

}  // namespace soulbox::bus::subjects
