#include "audit/audit_query.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "audit/signing_key.h"

namespace soulbox::audit {
namespace {

using json = nlohmann::json;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string pseudonym(const std::string& value) {
  if (value.empty()) return value;
  return "redacted-" + hex(sha256("soulbox-audit-pseudonym\n" + value)).substr(0, 12);
}

bool personal_field(const std::string& key) {
  static const char* const kFields[] = {"email", "ip", "user", "username", "name", "phone", "address", "from"};
  for (const char* f : kFields)
    if (key == f) return true;
  return false;
}

std::string iso_time(int64_t unix_ms) {
  const time_t secs = time_t(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(unix_ms % 1000));
  return buf;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// RFC 5424 section 6.3.3: '"', '\' and ']' are escaped in parameter values.
std::string sd_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

// Printable ASCII without spaces (RFC 5424 header fields); '-' when empty.
std::string header_field(const std::string& v) {
  std::string out;
  for (char c : v) out += (c > 32 && c < 127) ? c : '_';
  return out.empty() ? "-" : out;
}

}  // namespace

bool matches(const Query& q, const Event& e) {
  if (q.from_ms && e.unix_ms < q.from_ms) return false;
  if (q.to_ms && e.unix_ms >= q.to_ms) return false;
  if (!q.tenant.empty() && e.tenant != q.tenant) return false;
  if (!q.principal.empty() && e.principal != q.principal) return false;
  if (!q.action.empty() && !starts_with(e.action, q.action)) return false;
  if (!q.resource.empty() && !starts_with(e.resource, q.resource)) return false;
  return true;
}

std::vector<Found> run_query(const std::vector<Record>& records, size_t verified_below, const Query& q) {
  std::vector<Found> out;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!matches(q, records[i].event)) continue;
    out.push_back(Found{records[i], i < verified_below});
    if (q.limit && out.size() >= q.limit) break;
  }
  return out;
}

Event redact(const Event& e) {
  Event r = e;
  r.principal = pseudonym(e.principal);
  r.source = pseudonym(e.source);
  const auto colon = r.resource.find(':');
  if (colon != std::string::npos) r.resource = r.resource.substr(0, colon) + ":[path redacted]";
  if (starts_with(r.resource, "key/")) r.resource = "key/" + pseudonym(r.resource.substr(4));  // a person's credential
  json details = json::parse(e.details.empty() ? "{}" : e.details, nullptr, false);
  if (details.is_object()) {
    for (auto it = details.begin(); it != details.end(); ++it)
      if (personal_field(it.key())) it.value() = "[redacted]";
    r.details = details.dump();
  } else {
    r.details = "{}";
  }
  return r;
}

Result<Format> parse_format(const std::string& name) {
  if (name == "json") return Format::json;
  if (name == "csv") return Format::csv;
  if (name == "syslog") return Format::syslog;
  return Error{ErrorCode::invalid_argument, "unknown format '" + name + "' (json, csv, syslog)"};
}

std::string csv_header() {
  return "seq,time,tenant,principal,action,resource,result,source,details,verified,erased,hash";
}

std::string format_record(const Found& f, Format format) {
  const Record& r = f.record;
  const Event& e = r.event;
  switch (format) {
    case Format::json:
      return json{{"seq", r.seq},         {"time", iso_time(e.unix_ms)},
                  {"time_ms", e.unix_ms}, {"id", e.id},
                  {"tenant", e.tenant},   {"principal", e.principal},
                  {"action", e.action},   {"resource", e.resource},
                  {"result", e.result},   {"source", e.source},
                  {"details", e.details}, {"verified", f.verified},
                  {"erased", r.erased},   {"hash", r.hash}}
          .dump();
    case Format::csv:
      return std::to_string(r.seq) + "," + iso_time(e.unix_ms) + "," + csv_field(e.tenant) + "," +
             csv_field(e.principal) + "," + csv_field(e.action) + "," + csv_field(e.resource) + "," +
             csv_field(e.result) + "," + csv_field(e.source) + "," + csv_field(e.details) + "," +
             (f.verified ? "true" : "false") + "," + (r.erased ? "true" : "false") + "," + r.hash;
    case Format::syslog: {
      // Facility authpriv (10); notice for what succeeded, warning otherwise.
      const int pri = 10 * 8 + (e.result == "ok" ? 5 : 4);
      return "<" + std::to_string(pri) + ">1 " + iso_time(e.unix_ms) + " " + header_field(e.source) + " soulboxd - " +
             header_field(e.action) + " [soulbox@32473 seq=\"" + std::to_string(r.seq) + "\" tenant=\"" +
             sd_value(e.tenant) + "\" principal=\"" + sd_value(e.principal) + "\" resource=\"" + sd_value(e.resource) +
             "\" result=\"" + sd_value(e.result) + "\" verified=\"" + (f.verified ? "true" : "false") + "\"] " +
             e.details;
    }
  }
  return "";
}

std::map<std::string, ComplianceCounts> compliance_report(const std::vector<Found>& found) {
  std::map<std::string, ComplianceCounts> out;
  for (const auto& f : found) {
    const Event& e = f.record.event;
    ComplianceCounts& c = out[e.tenant];
    ++c.events;
    if (f.record.erased) ++c.erased;
    if (e.action == "login.failure") {
      ++c.failed_logins;
      ++c.failed_logins_by_principal[e.principal];
    }
    if (e.result == "denied" || e.action == "quota.exceeded") ++c.policy_violations;
    if (e.action == "file.read" && e.result == "ok") ++c.data_exports;
  }
  return out;
}

}  // namespace soulbox::audit
