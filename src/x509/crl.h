// X.509 v2 CRLs (RFC 5280 section 5) signed with SM2-with-SM3 and the GM/T ID. OpenSSL 3.0
// cannot verify such CRLs (no distinguishing-ID hook for X509_CRL_verify, STANDARDS-NOTES
// section 8.1), so VerifyCrlSignature checks the original TBS bytes itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::x509 {

// CRLReason, RFC 5280 section 5.3.1. PERSISTENT: values are stored; never renumber.
enum class RevocationReason : int {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kRemoveFromCrl = 8,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};
// "keyCompromise", ... (RFC 5280 names); "unknown" for other values.
std::string_view RevocationReasonName(RevocationReason r);
// Inverse of RevocationReasonName; kInvalidArgument for unknown names.
Result<RevocationReason> ParseRevocationReason(std::string_view name);

struct RevokedEntry {
  Bytes serial;  // unsigned big-endian
  TimePoint revocation_date;
  std::optional<RevocationReason> reason;     // reasonCode entry extension
  std::optional<TimePoint> invalidity_date;   // invalidityDate entry extension
};

struct CrlSpec {
  Name issuer;
  TimePoint this_update;
  TimePoint next_update;
  std::vector<RevokedEntry> entries;
  std::uint64_t crl_number = 0;
  // Set for a delta CRL: deltaCRLIndicator (critical) with the base CRL's number.
  std::optional<std::uint64_t> delta_base;
  // AuthorityKeyIdentifier keyIdentifier; defaults to KeyIdentifierFor(signer.public_key)
  // when empty.
  Bytes authority_key_id;
  // Set for a partitioned CRL: a critical issuingDistributionPoint (RFC 5280 section 5.2.5)
  // naming the distribution point the CRL covers, equal to the cRLDistributionPoints URI of
  // the certificates in its scope (section 6.3.3 (b)(2)).
  std::optional<IssuingDistributionPointValue> issuing_distribution_point;
};

// Builds and signs a v2 CRL. kInvalidArgument when next_update <= this_update, a serial is
// empty or > 20 octets, a serial appears twice, a time is outside 1950..9999 or a reason is
// not a CRLReason. Entries are written in the given order. Linear in the number of entries
// when the serials come in ascending numeric order (one buffer, no per-entry allocation:
// about 0.1 s for 1,000,000 entries, most of it SM3 over the TBS; bench/bench_crl.cc); other
// orders add an O(n log n) duplicate check.
Result<Bytes> BuildCrl(const CrlSpec& spec, const Signer& signer);

class Crl {
 public:
  // kTooLarge over 128 MiB; kMalformedInput on bad DER or trailing data; kUnsupported for a
  // signature algorithm other than SM2-with-SM3.
  static Result<Crl> FromDer(ByteView der);
  static Result<Crl> FromPem(std::string_view pem);
  static Result<Crl> Parse(ByteView data);

  const Bytes& der() const { return der_; }
  ByteView tbs_der() const { return ByteView(der_).subspan(tbs_offset_, tbs_size_); }
  const Bytes& signature() const { return signature_; }
  int version() const { return version_; }
  const Name& issuer() const { return issuer_; }
  TimePoint this_update() const { return this_update_; }
  std::optional<TimePoint> next_update() const { return next_update_; }
  std::optional<std::uint64_t> crl_number() const { return crl_number_; }
  std::optional<std::uint64_t> delta_base() const { return delta_base_; }
  bool is_delta() const { return delta_base_.has_value(); }
  const std::optional<Bytes>& authority_key_id() const { return authority_key_id_; }
  const std::vector<RevokedEntry>& entries() const { return entries_; }
  const std::vector<Extension>& extensions() const { return extensions_; }
  // The issuingDistributionPoint extension, when the CRL has one (a partitioned CRL).
  const std::optional<IssuingDistributionPointValue>& issuing_distribution_point() const {
    return issuing_distribution_point_;
  }
  // The entry for `serial` (unsigned big-endian, leading zeros ignored), or nullptr.
  // O(log n) when the CRL lists its serials in ascending order (gmpki's do), else O(n).
  const RevokedEntry* Find(ByteView serial) const;
  std::string ToPem() const;

 private:
  Crl() = default;
  Bytes der_;
  std::size_t tbs_offset_ = 0, tbs_size_ = 0;
  Bytes signature_;
  int version_ = 1;
  Name issuer_;
  TimePoint this_update_{};
  std::optional<TimePoint> next_update_;
  std::optional<std::uint64_t> crl_number_, delta_base_;
  std::optional<Bytes> authority_key_id_;
  std::vector<RevokedEntry> entries_;
  std::vector<Extension> extensions_;
  std::optional<IssuingDistributionPointValue> issuing_distribution_point_;
  bool ascending_ = true;  // serials strictly ascending: Find may binary-search
};

// kBadSignature when the CRL's signature does not verify with `issuer_key` and the GM/T ID.
Status VerifyCrlSignature(const Crl& crl, const crypto::Sm2PublicKey& issuer_key);

}  // namespace gmpki::x509
