// `soulboxd audit query` and `soulboxd audit report`: this node's audit
// records (RocksDB, read-only beside a running daemon) verified, filtered
// and written as JSON lines, CSV or syslog, with personal data redacted for
// tenants whose policy asks (or for all with --redact); and the compliance
// report per tenant over a period.
#pragma once
#include "daemon/audit_command.h"

namespace soulbox::daemon {

int run_audit_query(const AuditCommand& cmd);
int run_audit_report(const AuditCommand& cmd);

}  // namespace soulbox::daemon
