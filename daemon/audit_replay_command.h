// `soulboxd audit replay` and `soulboxd audit usage`: read every node's
// audit records from the SB_AUDIT stream (through the node in --data-dir's
// ready file, or --nats), fold them into tenant state and usage
// (tenants/audit_replay.h), and either compare that with the live state
// (the newest SB_EVENTS records) or price the usage over a period.
#pragma once
#include "daemon/audit_command.h"

namespace soulbox::daemon {

int run_audit_replay(const AuditCommand& cmd);
int run_audit_usage(const AuditCommand& cmd);

}  // namespace soulbox::daemon
