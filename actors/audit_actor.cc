#include "actors/audit_actor.h"

#include "common/log.h"

namespace soulbox::actors {

caf::behavior audit_actor(caf::event_based_actor* self, std::shared_ptr<audit::AuditLog> log) {
  return {
      [=](stop_atom, const std::string&) { self->quit(); },
      [=](audit_atom, const audit::Event& event) {
        if (auto r = log->append(event); !r)
          logger("audit")->error("audit event {} ({}) not fully recorded: {}", event.action, event.resource,
                                 r.error().message);
      },
  };
}

}  // namespace soulbox::actors
