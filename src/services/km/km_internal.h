// Internal to src/services/km: helpers shared by the KM service's translation units.
#pragma once

#include <string>
#include <vector>

#include "audit/audit.h"
#include "base/clock.h"
#include "services/core/roles.h"
#include "services/km/km_service.h"
#include "store/store.h"

namespace gmpki::km::internal {

inline constexpr const char* kKeyColumns =
    "key_id, ca, request_id, subject, enc_public_key, sign_public_key, status, cert_serial, "
    "not_after_unix, created_unix, revoked_unix, revoke_reason, previous_key_id";

// A row selected with kKeyColumns (plus retain_until_unix as column 13 for archive rows).
Result<KeyRecord> RowToKey(const store::Row& r, bool archived);

audit::AuditEvent Event(std::string actor, std::string role, std::string action, std::string object,
                        const std::string& node, const Clock& clock);
audit::AuditEvent Event(const services::Actor& a, std::string action, std::string object,
                        const std::string& node, const Clock& clock);

// 32 random hex digits.
Result<std::string> NewId();

// Request IDs: 1..128 of [A-Za-z0-9._:-].
Status CheckRequestId(const std::string& id);

}  // namespace gmpki::km::internal
