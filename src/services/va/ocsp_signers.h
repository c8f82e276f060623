// Delegated OCSP signers (RFC 6960 section 4.2.2.2): per CA, an SM2 key generated in the crypto
// device and a certificate the CA issues to it under the `ocsp-signer` profile
// (id-kp-OCSPSigning, critical keyUsage digitalSignature, id-pkix-ocsp-nocheck, 30 days). The
// current signer of each CA is kept in the table va_ocsp_signers; it is reused while valid and
// replaced when it nears expiry (the old key stays in the device until its certificate
// expires, since responses it signed may still be cached by clients).
//
// Thread safety: thread-safe. The Signer a DelegatedSigner carries may be called from any
// number of threads (it spreads over a small pool of device sessions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "device/device.h"
#include "services/ca/ca_service.h"
#include "services/core/roles.h"
#include "services/va/ocsp_responder.h"
#include "store/store.h"

namespace gmpki::va {

// Migrations 700..799 are reserved for the verification services (VA).
std::vector<store::Migration> VaMigrations();

struct SignerPolicy {
  int validity_days = 30;     // of the signing certificate (profile ocsp-signer allows 1..90)
  int renew_before_days = 7;  // a signer expiring sooner than this is replaced
  std::size_t sessions = 8;   // device sessions a signer signs through concurrently
};

// One row of va_ocsp_signers.
struct SignerRecord {
  std::string ca;
  std::string key_label;  // device key label
  std::string serial_hex;
  std::int64_t not_after = 0;
  std::int64_t created_unix = 0;
  Bytes cert_der;
};

class OcspSignerManager {
 public:
  // None is owned; all must outlive the manager.
  OcspSignerManager(store::Database& db, device::CryptoDevice& device, const Clock& clock,
                    SignerPolicy policy = {});

  // The current signer of `ca` as stored (no issuance): for a responder node that only reads.
  // kNotFound when none, kFailedPrecondition when it has expired, kIntegrityFailure when the
  // device key does not match the stored certificate.
  Result<DelegatedSigner> Load(const std::string& ca);
  // The current signer of `ca`, issuing a new one through `ca_service` when there is none or it
  // expires within renew_before_days (the actor needs Permission kCertIssue; the issuance is
  // audited by the CA). kFailedPrecondition for a CA that is not active or holds no key here.
  Result<DelegatedSigner> Provision(const services::Actor& actor, ca::CaService& ca_service,
                                    const std::string& ca);
  // Provision for every active CA whose key is in this device, installing each signer into
  // `responder`. Returns how many CAs got a signer; the first failure is returned after all
  // CAs were tried. What a node runs at start and then daily (renewals).
  Result<std::size_t> ProvisionAll(const services::Actor& actor, ca::CaService& ca_service,
                                   OcspResponder& responder);
  // Every stored signer of `ca`, newest first.
  Result<std::vector<SignerRecord>> History(const std::string& ca);

 private:
  Result<std::optional<SignerRecord>> Current(const std::string& ca);
  Result<DelegatedSigner> Open(const SignerRecord& rec);

  store::Database& db_;
  device::CryptoDevice& device_;
  const Clock& clock_;
  SignerPolicy policy_;
};

}  // namespace gmpki::va
