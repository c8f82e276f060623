// Certification path validation (RFC 5280 section 6) for SM2 chains.
//
// OpenSSL's X509_verify_cert does the path building and the RFC 5280 checks, after
// X509_set0_distinguishing_id("1234567812345678") is set on EVERY certificate (leaf,
// intermediates, anchors) because OpenSSL 3.0 otherwise uses the empty ID (STANDARDS-NOTES
// section 8.1). On top of that, every signature on the path (the anchor's self-signature
// included) is re-checked here over the original TBS bytes, names must chain by DER,
// validity, basicConstraints/pathLen and keyCertSign are checked explicitly, and revocation
// uses CRLs whose signatures we verify ourselves (OpenSSL 3.0 cannot).
#pragma once

#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "x509/certificate.h"
#include "x509/crl.h"

namespace gmpki::x509 {

struct ChainOptions {
  TimePoint at;                // validation time
  std::vector<Crl> crls;       // full and delta CRLs; optional
  // If true, every non-anchor certificate must be covered by a CRL from its issuer
  // (kFailedPrecondition "no CRL for ..." otherwise).
  bool require_crls = false;
};

// Error codes (the message names the certificate by subject and serial):
//   kBadSignature       a certificate or CRL signature does not verify
//   kFailedPrecondition a certificate is expired or not yet valid; a CRL is past nextUpdate;
//                       no path to a trust anchor ("untrusted: ..."); missing CRL
//   kConflict           a certificate is revoked ("revoked: ... reason keyCompromise")
//   kPolicyViolation    basicConstraints, pathLen or keyCertSign violated by an issuer
//   kInvalidArgument    no trust anchors given
// On success returns the path leaf first, the trust anchor last.
Result<std::vector<Certificate>> VerifyChain(const Certificate& leaf,
                                             const std::vector<Certificate>& intermediates,
                                             const std::vector<Certificate>& anchors,
                                             const ChainOptions& options);

}  // namespace gmpki::x509
