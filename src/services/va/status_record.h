// The unit of certificate status that the verification service (OCSP responder, src/services/va)
// answers from and that the business network pushes to the public network (HI-02,
// src/services/va_feed). Shared by both so a pushed record is applied exactly as a local one.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"

namespace gmpki::va {

// PERSISTENT: the letters are stored in va tables and carried in signed feed snapshots.
enum class CertState : char { kGood = 'g', kRevoked = 'r', kHold = 'h' };

struct StatusRecord {
  std::string ca;          // CA name in the CA service (cas.name)
  std::string serial_hex;  // upper-case hex, no leading zeros (ca::NormalizeSerial)
  CertState state = CertState::kGood;
  int reason = -1;                // RFC 5280 CRLReason when revoked/hold, else -1
  std::int64_t revoked_unix = 0;  // when revoked/hold
  std::int64_t not_after = 0;     // certificate expiry (Unix seconds)
};

// One CA the responder answers for: its certificate (the issuer of the certificates asked
// about; OCSP CertIDs hash its name and key).
struct IssuerRecord {
  std::string ca;
  Bytes cert_der;
};

}  // namespace gmpki::va
