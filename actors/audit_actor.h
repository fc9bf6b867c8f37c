// The audit actor: one per node, on a thread of its own (each append is a
// synced RocksDB write and a JetStream publish). Other actors send it
// (audit_atom, audit::Event) and go on; it never answers. An actor that
// wrote events into the audit outbox with its state (audit/audit_outbox.h)
// sends (outbox_atom) instead, and the actor drains the outbox. It also
// erases the content of events older than their tenant's retention.
#pragma once
#include <caf/all.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/messages.h"
#include "audit/audit_log.h"

namespace soulbox::audit {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Event& x) {
  return f(caf::meta::type_name("audit_event"), x.id, x.unix_ms, x.tenant, x.principal, x.action, x.resource, x.result,
           x.source, x.details);
}
}  // namespace soulbox::audit

namespace soulbox::actors {

using audit_atom = caf::atom_constant<caf::atom("audit")>;

using retention_atom = caf::atom_constant<caf::atom("retention")>;
using outbox_atom = caf::atom_constant<caf::atom("outbox")>;

// How long a tenant's events keep their content (ms; 0: forever).
using RetentionLookup = std::function<int64_t(const std::string& tenant)>;

// Applies retention at start and then every `retention_every`.
caf::behavior audit_actor(caf::event_based_actor* self, std::shared_ptr<audit::AuditLog> log, storage::Store* store,
                          RetentionLookup retention, caf::timespan retention_every);

}  // namespace soulbox::actors
