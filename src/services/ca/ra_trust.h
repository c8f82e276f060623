// The CA's registry of the registration systems attached to it (LD/T 02.1 §7.3.2; CA-01,
// HI-03, HI-05, CC-FTP): the CA enrols each RA with its own SM2 signing certificate (issued by
// one of our CAs, profile device-sign) and its TLS client certificate, authorises the CAs and
// profiles it may request, suspends and resumes it, and executes the RA's signed requests
// (services/ca/ra_protocol.h), keeping every request it authenticated as evidence in
// ca_ra_requests (signed payload, signature, outcome).
//
// Idempotency: issuing requests carry CA request keys "ra:<ra>:<request-id>", so a resubmitted
// request returns the certificate first issued; a request ID reused for other arguments is
// refused (kConflict).
//
// Thread safety: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "services/ca/ca_service.h"
#include "store/group_commit.h"
#include "store/store.h"

namespace gmpki::ca {

// PERSISTENT values of ca_ra_systems.status: "active", "suspended".
struct RaSystem {
  std::string name;
  std::string status;
  std::string sign_ca;          // the CA that issued its signing certificate
  std::string sign_serial;      // upper-case hex
  Bytes sign_cert_der;
  std::string tls_fingerprint;  // lower-case hex SM3 of its TLS client certificate
  std::vector<std::string> cas;       // CAs it may request from
  std::vector<std::string> profiles;  // profiles it may request
  std::string enrolled_by;
  std::int64_t created_unix = 0, updated_unix = 0;
};

struct RaEnrolment {
  std::string name;             // 1..64 of [a-z0-9-]
  Bytes sign_cert;              // PEM or DER; issued by one of our CAs, profile device-sign, good
  std::string tls_fingerprint;  // SM3 hex of the TLS client certificate the RA will present
  std::vector<std::string> cas;
  std::vector<std::string> profiles;
};

class RaTrust {
 public:
  RaTrust(store::Database& db, CaService& ca, const Clock& clock, std::string node);

  // Permission kRaManage (security administrator).
  Result<RaSystem> Enrol(const services::Actor& actor, const RaEnrolment& e);
  Result<RaSystem> Authorise(const services::Actor& actor, const std::string& name,
                             const std::vector<std::string>& cas,
                             const std::vector<std::string>& profiles);
  Status Suspend(const services::Actor& actor, const std::string& name);
  Status Resume(const services::Actor& actor, const std::string& name);
  Result<std::vector<RaSystem>> List(const services::Actor& actor);
  Result<RaSystem> Get(const services::Actor& actor, const std::string& name);

  // Executes one signed request (ra_protocol.h) from the RA whose verified TLS client
  // certificate has SM3 fingerprint `tls_fingerprint`. Errors: kUnauthenticated (unknown TLS
  // certificate, or the payload names another RA), kPermissionDenied (suspended RA, CA or
  // profile not authorised), kBadSignature, kFailedPrecondition (expired request, signing
  // certificate no longer good), kConflict (request ID reused with other arguments),
  // kMalformedInput, and the CA's own errors. Returns the JSON answer.
  Result<nlohmann::json> Handle(const std::string& tls_fingerprint, std::string_view body);

 private:
  Result<RaSystem> Load(store::Transaction& tx, std::string_view column, const std::string& value);
  Status ChangeStatus(const services::Actor& actor, const std::string& name, const char* to);
  Result<nlohmann::json> Execute(const RaSystem& ra, const std::string& op,
                                 const std::string& request_id, const nlohmann::json& args);
  Status Authorised(const RaSystem& ra, const std::string& ca, const std::string* profile) const;

  store::Database& db_;
  CaService& ca_;
  const Clock& clock_;
  std::string node_;
  // Evidence and outcome rows commit in groups with other RAs' requests.
  store::GroupCommitter committer_;
};

}  // namespace gmpki::ca
