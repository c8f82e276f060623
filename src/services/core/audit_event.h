// The audit record of an operation by an authenticated actor: who (name and role), what, on
// what, where and when. Every service builds its records with this one helper.
#pragma once

#include <string>

#include "audit/audit.h"
#include "base/clock.h"
#include "services/core/roles.h"

namespace gmpki::services {

audit::AuditEvent ActorEvent(const Actor& actor, std::string action, std::string object,
                             const std::string& node, TimePoint when);

}  // namespace gmpki::services
