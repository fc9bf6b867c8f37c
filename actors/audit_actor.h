// The audit actor: one per node, on a thread of its own (each append is a
// synced RocksDB write and a JetStream publish). Other actors send it
// (audit_atom, audit::Event) and go on; it never answers. It also erases
// the content of events older than their tenant's retention.
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

// How long a tenant's events keep their content (ms; 0: forever).
using RetentionLookup = std::function<int64_t(const std::string& tenant)>;

// Applies retention at start and then every `retention_every`.
caf::behavior audit_actor(caf::event_based_actor* self, std::shared_ptr<audit::AuditLog> log, RetentionLookup retention,
                          caf::timespan retention_every);

}  // namespace soulbox::actors
