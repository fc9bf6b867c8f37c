// Reading the audit log: filters, PII redaction, the export formats (JSON
// lines, CSV, RFC 5424 syslog) and the compliance report. Pure logic over
// records that the caller has verified (each output says whether it was).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "audit/audit_chain.h"

namespace soulbox::audit {

struct Query {
  int64_t from_ms = 0, to_ms = 0;  // 0: open
  std::string tenant, principal;   // exact; empty: any
  std::string action, resource;    // prefixes ("file." matches file.read); empty: any
  size_t limit = 0;                // 0: all
};

bool matches(const Query& q, const Event& e);

// A record as a query returns it.
struct Found {
  Record record;
  bool verified = false;  // its chain up to it verified (hashes, links, signatures)
};

// The matching records; `verified_below`: records at indexes below it verified.
std::vector<Found> run_query(const std::vector<Record>& records, size_t verified_below, const Query& q);

// Principal and source become stable pseudonyms (the same person stays
// recognisable across events), a file path or key id in the resource and
// personal-looking detail fields (email, ip, user, name, phone, address,
// from) are replaced.
Event redact(const Event& e);

enum class Format { json, csv, syslog };
Result<Format> parse_format(const std::string& name);
std::string csv_header();
std::string format_record(const Found& f, Format format);  // one line, no newline

// Per tenant over a period: failed logins, policy violations (denied
// actions, refused quotas) and data exports (files read from sandboxes).
struct ComplianceCounts {
  uint64_t events = 0, failed_logins = 0, policy_violations = 0, data_exports = 0, erased = 0;
  std::map<std::string, uint64_t> failed_logins_by_principal;
};
std::map<std::string, ComplianceCounts> compliance_report(const std::vector<Found>& found);

}  // namespace soulbox::audit
