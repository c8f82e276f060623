// Internals shared by the CA service's translation units.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "services/ca/ca_service.h"
#include "x509/signer.h"

namespace gmpki::ca {

// An issuing CA loaded for signing: its record, certificate and a Signer over its device key.
struct CaService::Loaded {
  CaRecord record;
  std::optional<x509::Certificate> cert;
  std::shared_ptr<device::Session> session;
  std::uint32_t key_index = 0;
  x509::Signer signer;
};

Result<CaRecord> RowToCa(const store::Row& r);
Result<CertRecord> RowToCert(const store::Row& r);
// The GM/T 0015 identity attributes of an existing certificate (renewals keep them; an
// encryption certificate takes them from the signing certificate it pairs with).
Result<IdentityAttributes> IdentityOf(const x509::Certificate& cert);
inline constexpr const char* kCaColumns =
    "name, parent, depth, kind, status, external, key_label, cert_der, subject, serial_hex, "
    "not_before, not_after";
inline constexpr const char* kCertColumns =
    "ca, serial_hex, subject, profile, status, reason, revoked_unix, not_before, not_after, "
    "issued_unix, requested_by, der";

x509::Signer DeviceSigner(std::shared_ptr<device::Session> session, std::uint32_t index,
                          const crypto::Sm2PublicKey& pub);

template <class T>
Result<T> CaService::Audited(
    const services::Actor& actor, std::string action, std::string object,
    services::Permission permission,
    const std::function<Result<T>(store::Transaction&, audit::AuditEvent&)>& op) {
  audit::AuditEvent ev;
  ev.actor = actor.name;
  ev.role = std::string(services::RoleName(actor.role));
  ev.action = std::move(action);
  ev.object = std::move(object);
  ev.node = settings_.node;
  std::optional<Error> failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ev.time = clock_.Now();
    auto authz = services::Authorize(actor, permission);
    if (!authz.ok()) {
      failure = authz.error();
      break;
    }
    auto tx = db_.Begin();
    if (!tx.ok()) return tx.error();
    Result<T> r = op(**tx, ev);
    if (!r.ok()) {
      (void)(*tx)->Rollback();
      failure = r.error();
      // Transient (a busy database, a serial collision): retry in a fresh transaction.
      if (r.error().code() == ErrorCode::kUnavailable && attempt < 2) continue;
      break;
    }
    ev.outcome = audit::Outcome::kSuccess;
    if (auto st = audit::AppendAudit(**tx, ev); !st.ok()) {
      (void)(*tx)->Rollback();
      return Error(ErrorCode::kAuditFailure,
                   "operation not performed: " + st.error().message());
    }
    auto c = (*tx)->Commit();
    if (c.ok()) return r;
    if (c.error().code() == ErrorCode::kConflict && attempt < 2) continue;  // serialisation retry
    return c.error();
  }
  if (!failure) return Error(ErrorCode::kUnavailable, "transaction kept conflicting; try again");
  RecordFailure(std::move(ev), *failure);
  return *failure;
}

}  // namespace gmpki::ca
