#include "services/core/audit_event.h"

namespace gmpki::services {

audit::AuditEvent ActorEvent(const Actor& actor, std::string action, std::string object,
                             const std::string& node, TimePoint when) {
  audit::AuditEvent ev;
  ev.actor = actor.name;
  ev.role = std::string(RoleName(actor.role));
  ev.action = std::move(action);
  ev.object = std::move(object);
  ev.node = node;
  ev.time = when;
  return ev;
}

}  // namespace gmpki::services
