// INTERNAL to gmpki_x509 (not a public header): a one-buffer DER builder shared by the CMS
// SignedData and the timestamp (TSP) encoders, and small parsing helpers they share.
//
// DerBuf writes TLVs into one growing buffer; Open() leaves a one-octet length that Close()
// patches, moving the content when the length needs more octets (X.690 section 8.1.3.5).
// Structures here are a few KiB, so the moves cost less than the allocations of building
// every TLV separately (der::Sequence), which matters at 50,000 tokens per second.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "x509/der.h"

namespace gmpki::x509::internal {

class DerBuf {
 public:
  explicit DerBuf(std::size_t reserve = 1024) { out_.reserve(reserve); }

  void Open(std::uint8_t tag) {
    out_.push_back(tag);
    out_.push_back(0);
    open_[depth_++] = out_.size();
  }
  void Close();
  void Tlv(std::uint8_t tag, ByteView content);
  void Raw(ByteView der) { out_.insert(out_.end(), der.begin(), der.end()); }
  // INTEGER from an unsigned big-endian magnitude (as der::IntegerFromUnsigned).
  void UnsignedInteger(ByteView magnitude);
  void SmallInteger(std::int64_t v);
  // OID from its content octets.
  void OidContent(ByteView content) { Tlv(der::kOid, content); }
  // SEQUENCE { OID } (an AlgorithmIdentifier with parameters absent).
  void AlgorithmId(ByteView oid_content);

  std::size_t size() const { return out_.size(); }
  const Bytes& bytes() const { return out_; }
  // REQUIRES: every Open() closed.
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
  std::array<std::size_t, 24> open_{};
  std::size_t depth_ = 0;
};

// The DER content octets of a dotted OID fixed in code (aborts on a malformed literal).
Bytes OidContent(std::string_view dotted);

// "<what>: <message>" as kMalformedInput; a lower-layer error relabelled with the field.
Error CmsMalformed(std::string_view what, std::string_view message);
Error CmsContext(std::string_view what, const Error& e);

// AlgorithmIdentifier: the algorithm's dotted OID; parameters must be absent or NULL unless
// `allow_params`. kMalformedInput otherwise.
Result<std::string> ParseAlgorithmOid(const der::Element& alg, std::string_view what,
                                      bool allow_params = false);

// SM3 and the OIDs some implementations put in its place (STANDARDS-NOTES section 2.3:
// Kinsec's 401.2, GmSSL-era 401.1).
bool IsSm3DigestOid(std::string_view oid);
// SM2-with-SM3 (501) or sm2-1 (301.1).
bool IsSm2SignatureOid(std::string_view oid);

// GeneralizedTime with optional fractional seconds (X.690 section 11.7: no trailing zeros, '.'
// only when followed by digits), "Z" only; years 1950..2261. Returns the time point (to the
// nanosecond, further digits truncated).
Result<TimePoint> ParseGeneralizedTimeFraction(const der::Element& e, std::string_view what);

}  // namespace gmpki::x509::internal
