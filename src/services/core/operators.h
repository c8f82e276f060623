// The operator registry (CC-FIA, CC-FMT): who may act, in which single role, proven by which
// TLS client certificate. The server maps a verified client certificate (by its SM3
// fingerprint) to an Actor; the CLI does the same after checking that the operator holds the
// certificate's private key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "base/clock.h"
#include "services/core/roles.h"
#include "store/store.h"

namespace gmpki::services {

struct OperatorRecord {
  std::string name;
  Role role;
  std::string person;           // the natural person behind the account (separation of duties)
  std::string cert_fingerprint; // lower-case hex SM3 of the TLS client certificate DER
  std::string status;           // "active" | "disabled"
  std::int64_t created_unix = 0;
};

// Migrations 10..99 are reserved for services/core.
std::vector<store::Migration> CoreMigrations();

class OperatorRegistry {
 public:
  OperatorRegistry(store::Database& db, const Clock& clock, std::string node)
      : db_(db), clock_(clock), node_(std::move(node)) {}

  // Enrols an operator. `by` must hold kOperatorManage, except for the bootstrap enrolment
  // made by `gmpki init` (by == nullopt), which is only allowed while no operator exists.
  // Separation of duties: kPolicyViolation if `person` already holds a different
  // administrative role. kAlreadyExists for a taken name or certificate.
  Result<OperatorRecord> Enrol(const std::optional<Actor>& by, const std::string& name, Role role,
                               const std::string& person, const std::string& cert_fingerprint);
  Status Disable(const Actor& by, const std::string& name);
  Result<std::vector<OperatorRecord>> List(const Actor& by);

  // Maps a verified certificate fingerprint to the active operator. kUnauthenticated when no
  // active operator has that certificate (the failure is audited).
  Result<Actor> Authenticate(const std::string& cert_fingerprint, const std::string& channel);

 private:
  store::Database& db_;
  const Clock& clock_;
  std::string node_;
};

}  // namespace gmpki::services
