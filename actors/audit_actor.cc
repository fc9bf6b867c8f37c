#include "actors/audit_actor.h"

#include "actors/node_context.h"
#include "audit/audit_outbox.h"
#include "common/log.h"

namespace soulbox::actors {

caf::behavior audit_actor(caf::event_based_actor* self, std::shared_ptr<audit::AuditLog> log, storage::Store* store,
                          RetentionLookup retention, caf::timespan retention_every) {
  self->send(self, retention_atom::value);
  return {
      [=](stop_atom, const std::string&) { self->quit(); },
      [=](retention_atom) {
        if (retention) {
          auto erased = log->erase_expired(retention, unix_ms_now());
          if (!erased)
            logger("audit")->error("retention: {}", erased.error().message);
          else if (*erased)
            logger("audit")->info("retention: erased the content of {} event(s)", *erased);
        }
        self->delayed_send(self, retention_every, retention_atom::value);
      },
      [=](outbox_atom) {
        // Several notices may find one entry: the first drain takes it.
        if (auto drained = audit::drain_outbox(*store, *log); !drained)
          logger("audit")->error("audit outbox: {} (retried at the next event or start)", drained.error().message);
      },
      [=](audit_atom, const audit::Event& event) {
        if (auto r = log->append(event); !r)
          logger("audit")->error("audit event {} ({}) not fully recorded: {}", event.action, event.resource,
                                 r.error().message);
      },
  };
}

}  // namespace soulbox::actors
