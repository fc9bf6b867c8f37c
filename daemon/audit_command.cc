#include "daemon/audit_command.h"

#include <fstream>
#include <iostream>

#include "audit/audit_log.h"
#include "daemon/audit_query_command.h"
#include "daemon/audit_replay_command.h"
#include "storage/store.h"

namespace soulbox::daemon {
namespace {

std::string audit_dir(const AuditCommand& c) {
  return c.data_dir + "/audit";
}

Result<std::vector<audit::Record>> records_of(const AuditCommand& c) {
  if (!c.file.empty()) {
    std::ifstream in(c.file);
    if (!in) return Error{ErrorCode::not_found, "cannot read " + c.file};
    std::vector<audit::Record> out;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto r = audit::decode_record(line);
      out.push_back(r ? *r : audit::Record{});  // an unreadable line fails verification at its index
    }
    return out;
  }
  storage::StoreOptions o;
  o.path = c.data_dir + "/state";
  o.read_only = true;
  auto store = storage::Store::open(o);
  if (!store) return store.error();
  return audit::load_records(**store);
}

int fail(const std::string& what) {
  std::cerr << "soulboxd audit: " << what << "\n";
  return 2;
}

}  // namespace

void add_audit_commands(CLI::App& app, AuditCommand& cmd) {
  auto* audit = app.add_subcommand("audit", "Export, verify or replay the audit log");
  audit->add_option("--data-dir", cmd.data_dir, "soulboxd's data dir")->capture_default_str();
  audit->require_subcommand(1);
  cmd.export_ = audit->add_subcommand("export", "Write the records as JSON lines");
  cmd.export_->add_option("--out", cmd.out, "File (- for standard output)")->capture_default_str();
  cmd.verify = audit->add_subcommand("verify", "Check hashes, links, signatures and the newest checkpoint");
  cmd.verify->add_option("--file", cmd.file, "A JSON-lines export to check instead of the node's store");
  auto bus_options = [&](CLI::App* sub) {
    sub->add_option("--nats", cmd.nats_url, "NATS URL (default: from <data-dir>/soulboxd.json)");
    sub->add_option("--nats-user", cmd.nats_user, "NATS user");
    sub->add_option("--nats-password", cmd.nats_password, "NATS password");
  };
  cmd.replay = audit->add_subcommand(
      "replay", "Rebuild tenants and usage from every node's audit events and compare with the live state");
  bus_options(cmd.replay);
  cmd.usage = audit->add_subcommand("usage", "Usage and cost per tenant over a period, from the audit events");
  bus_options(cmd.usage);
  cmd.replay->add_option("--secrets-key", cmd.secrets_key,
                         "The cluster's secrets key, which seals tenant records (default <data-dir>/secrets.key)");
  cmd.usage->add_option("--from-ms", cmd.from_ms, "Period start, Unix ms (default: 24 h before --to-ms)");
  cmd.usage->add_option("--to-ms", cmd.to_ms, "Period end, Unix ms (default: now)");
  cmd.usage->add_option("--price-cpu-hour", cmd.price_cpu_hour, "Price of one cpu for an hour")
      ->check(CLI::NonNegativeNumber);
  cmd.usage->add_option("--price-gib-hour", cmd.price_gib_hour, "Price of one GiB of memory for an hour")
      ->check(CLI::NonNegativeNumber);
  cmd.usage->add_option("--price-sandbox", cmd.price_sandbox, "Price of each sandbox started")
      ->check(CLI::NonNegativeNumber);
  cmd.usage->add_option("--tenant", cmd.tenant, "Only this tenant");
  auto filters = [&](CLI::App* sub) {
    sub->add_option("--from-ms", cmd.from_ms, "Events at or after this time (Unix ms)");
    sub->add_option("--to-ms", cmd.to_ms, "Events before this time (Unix ms)");
    sub->add_option("--tenant", cmd.tenant, "Only this tenant");
    sub->add_option("--principal", cmd.principal, "Only this principal");
    sub->add_option("--action", cmd.action, "Actions starting with this (file. matches file.read)");
    sub->add_option("--resource", cmd.resource, "Resources starting with this (sandbox/sb-...)");
    sub->add_flag("--redact", cmd.redact, "Pseudonyms for every tenant (else: as each tenant's policy says)");
  };
  cmd.query = audit->add_subcommand("query", "Verified events matching filters, as JSON lines, CSV or syslog");
  filters(cmd.query);
  cmd.query->add_option("--format", cmd.format, "json, csv or syslog (RFC 5424)")->capture_default_str();
  cmd.query->add_option("--limit", cmd.limit, "At most this many events (0: all)");
  cmd.report = audit->add_subcommand("report", "Compliance report per tenant: failed logins, violations, exports");
  filters(cmd.report);
}

int run_audit_command(const AuditCommand& c) {
  if (*c.replay) return run_audit_replay(c);
  if (*c.usage) return run_audit_usage(c);
  if (*c.query) return run_audit_query(c);
  if (*c.report) return run_audit_report(c);
  auto records = records_of(c);
  if (!records) return fail(records.error().message);
  if (*c.export_) {
    std::ofstream file;
    if (c.out != "-") {
      file.open(c.out, std::ios::trunc);
      if (!file) return fail("cannot write " + c.out);
    }
    std::ostream& out = c.out == "-" ? std::cout : file;
    for (const auto& r : *records) out << audit::encode_record(r) << "\n";
    return 0;
  }
  // The public key comes from the node's key file; the checkpoint from outside the store.
  auto key = audit::SigningKey::load(audit_dir(c) + "/audit-key.pem");
  if (!key) return fail(key.error().message);
  auto checkpoint = audit::newest_checkpoint(audit_dir(c) + "/checkpoints.jsonl");
  if (!checkpoint) return fail(checkpoint.error().message);
  const auto report = audit::verify(*records, (*key)->public_key(), *checkpoint);
  if (!report.ok) {
    std::cout << "tampered: first bad record at index " << report.first_bad << ": " << report.why << "\n";
    return 1;
  }
  std::cout << "ok: " << records->size() << " records verified"
            << (report.erased ? " (" + std::to_string(report.erased) + " erased by retention)" : std::string())
            << (*checkpoint ? ", up to checkpoint " + std::to_string((*checkpoint)->seq) : ", no checkpoint yet")
            << "\n";
  return 0;
}

}  // namespace soulbox::daemon
