#include "daemon/audit_query_command.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/audit_query.h"
#include "storage/store.h"
#include "tenants/tenant_view_store.h"

namespace soulbox::daemon {
namespace {

int fail(const std::string& what) {
  std::cerr << "soulboxd audit: " << what << "\n";
  return 2;
}

// The node's records and tenant view, and how far the records verify.
struct Loaded {
  std::vector<audit::Record> records;
  audit::VerifyReport report;
  tenants::StoredView view;
};

Result<Loaded> load(const AuditCommand& c) {
  storage::StoreOptions o;
  o.path = c.data_dir + "/state";
  o.read_only = true;
  auto store = storage::Store::open(o);
  if (!store) return store.error();
  Loaded l;
  auto records = audit::load_records(**store);
  if (!records) return records.error();
  l.records = std::move(*records);
  auto view = tenants::load_view(**store);
  if (!view) return view.error();
  l.view = std::move(*view);
  auto key = audit::SigningKey::load(c.data_dir + "/audit/audit-key.pem");
  if (!key) return key.error();
  auto checkpoint = audit::newest_checkpoint(c.data_dir + "/audit/checkpoints.jsonl");
  if (!checkpoint) return checkpoint.error();
  l.report = audit::verify(l.records, (*key)->public_key(), *checkpoint);
  return l;
}

audit::Query query_of(const AuditCommand& c) {
  audit::Query q;
  q.from_ms = c.from_ms;
  q.to_ms = c.to_ms;
  q.tenant = c.tenant;
  q.principal = c.principal;
  q.action = c.action;
  q.resource = c.resource;
  q.limit = c.limit;
  return q;
}

size_t verified_below(const Loaded& l) {
  return l.report.ok ? l.records.size() : l.report.first_bad;
}

void warn_if_tampered(const Loaded& l) {
  if (!l.report.ok)
    std::cerr << "soulboxd audit: WARNING: the log does not verify from index " << l.report.first_bad << " ("
              << l.report.why << "); those records are marked verified=false\n";
}

}  // namespace

int run_audit_query(const AuditCommand& c) {
  auto format = audit::parse_format(c.format);
  if (!format) return fail(format.error().message);
  auto loaded = load(c);
  if (!loaded) return fail(loaded.error().message);
  warn_if_tampered(*loaded);
  auto found = audit::run_query(loaded->records, verified_below(*loaded), query_of(c));
  if (*format == audit::Format::csv) std::cout << audit::csv_header() << "\n";
  for (auto& f : found) {
    const auto t = loaded->view.tenants.find(f.record.event.tenant);
    const bool redact = c.redact || (t != loaded->view.tenants.end() && t->second.audit_policy.redact);
    if (redact && !f.record.erased) f.record.event = audit::redact(f.record.event);
    std::cout << audit::format_record(f, *format) << "\n";
  }
  return loaded->report.ok ? 0 : 1;
}

int run_audit_report(const AuditCommand& c) {
  auto loaded = load(c);
  if (!loaded) return fail(loaded.error().message);
  warn_if_tampered(*loaded);
  audit::Query q = query_of(c);
  q.limit = 0;
  const auto found = audit::run_query(loaded->records, verified_below(*loaded), q);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [tenant, n] : audit::compliance_report(found)) {
    const auto t = loaded->view.tenants.find(tenant);
    const bool redact = c.redact || (t != loaded->view.tenants.end() && t->second.audit_policy.redact);
    nlohmann::json by_principal = nlohmann::json::object();
    for (const auto& [principal, count] : n.failed_logins_by_principal) {
      audit::Event e;
      e.principal = principal;
      by_principal[redact ? audit::redact(e).principal : principal] = count;
    }
    out.push_back({{"tenant", tenant},
                   {"from_ms", c.from_ms},
                   {"to_ms", c.to_ms},
                   {"events", n.events},
                   {"failed_logins", n.failed_logins},
                   {"failed_logins_by_principal", by_principal},
                   {"policy_violations", n.policy_violations},
                   {"data_exports", n.data_exports},
                   {"erased_by_retention", n.erased},
                   {"log_verified", loaded->report.ok}});
  }
  std::cout << out.dump(2) << "\n";
  return loaded->report.ok ? 0 : 1;
}

}  // namespace soulbox::daemon
