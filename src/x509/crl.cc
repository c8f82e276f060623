#include "x509/crl.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <limits>

#include "x509/der.h"
#include "x509/pem.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

// A full CRL of 1,000,000 entries is about 40-50 MB; partitioned CRLs are far smaller.
constexpr std::size_t kMaxCrlSize = 128 * 1024 * 1024;

struct ReasonNameEntry {
  RevocationReason reason;
  std::string_view name;
};
constexpr ReasonNameEntry kReasonNames[] = {
    {RevocationReason::kUnspecified, "unspecified"},
    {RevocationReason::kKeyCompromise, "keyCompromise"},
    {RevocationReason::kCaCompromise, "cACompromise"},
    {RevocationReason::kAffiliationChanged, "affiliationChanged"},
    {RevocationReason::kSuperseded, "superseded"},
    {RevocationReason::kCessationOfOperation, "cessationOfOperation"},
    {RevocationReason::kCertificateHold, "certificateHold"},
    {RevocationReason::kRemoveFromCrl, "removeFromCRL"},
    {RevocationReason::kPrivilegeWithdrawn, "privilegeWithdrawn"},
    {RevocationReason::kAaCompromise, "aACompromise"},
};

Error Bad(std::string what) { return Error(ErrorCode::kMalformedInput, "CRL: " + what); }

bool IsTime(std::optional<std::uint8_t> tag) {
  return tag && (*tag == der::kUtcTime || *tag == der::kGeneralizedTime);
}

}  // namespace

std::string_view RevocationReasonName(RevocationReason r) {
  for (const auto& e : kReasonNames) {
    if (e.reason == r) return e.name;
  }
  return "unknown";
}

Result<RevocationReason> ParseRevocationReason(std::string_view name) {
  for (const auto& e : kReasonNames) {
    if (e.name == name) return e.reason;
  }
  return Error(ErrorCode::kInvalidArgument, "unknown revocation reason: " + std::string(name));
}

namespace {

// ---- BuildCrl's encoder ----
// A CRL of a large CA holds millions of entries, so the revokedCertificates list is encoded
// in two passes straight into the final buffer: the first validates every entry and adds up
// the exact lengths, the second writes. No per-entry allocation, vector or string; the only
// copies of the TBS are the signer's hash and the returned bytes themselves.

std::size_t LengthOfLength(std::size_t n) {
  std::size_t k = 1;
  if (n >= 0x80) {
    while (n > 0) {
      ++k;
      n >>= 8;
    }
  }
  return k;
}

std::size_t TlvSize(std::size_t content) { return 1 + LengthOfLength(content) + content; }

std::uint8_t* PutHeader(std::uint8_t* p, std::uint8_t tag, std::size_t n) {
  *p++ = tag;
  if (n < 0x80) {
    *p++ = static_cast<std::uint8_t>(n);
    return p;
  }
  const std::size_t k = LengthOfLength(n) - 1;
  *p++ = static_cast<std::uint8_t>(0x80 | k);
  for (std::size_t i = k; i > 0; --i) *p++ = static_cast<std::uint8_t>(n >> (8 * (i - 1)));
  return p;
}

ByteView StripZerosView(ByteView b) {
  std::size_t i = 0;
  while (i < b.size() && b[i] == 0) ++i;
  return b.subspan(i);
}

// Numeric order of unsigned magnitudes without leading zeros: shorter is smaller.
int CompareMagnitude(ByteView a, ByteView b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  if (a.empty()) return 0;
  return std::memcmp(a.data(), b.data(), a.size());
}

// UTCTime / GeneralizedTime written without snprintf or allocation. Same rules as der::Time
// (RFC 5280 sections 4.1.2.5 and 5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050,
// seconds, "Z"; years 1950..9999 only); the CRL test checks the bytes against der::Time.
struct TimeDer {
  std::uint8_t bytes[17];
  std::uint8_t size = 0;
};

Status EncodeTimeFast(TimePoint t, bool generalized_always, TimeDer& out) {
  const std::int64_t secs = ToUnixSeconds(t);
  const std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const std::int64_t rem = secs - days * 86400;
  // Civil-from-days (proleptic Gregorian, H. Hinnant's algorithm), as der.cc does.
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2);
  if (year < 1950 || year > 9999) {
    return Error(ErrorCode::kInvalidArgument, "time outside 1950..9999");
  }
  const bool generalized = generalized_always || year >= 2050;
  std::uint8_t* p = out.bytes;
  *p++ = generalized ? der::kGeneralizedTime : der::kUtcTime;
  *p++ = generalized ? 15 : 13;
  auto two = [&p](unsigned v) {
    *p++ = static_cast<std::uint8_t>('0' + v / 10);
    *p++ = static_cast<std::uint8_t>('0' + v % 10);
  };
  if (generalized) two(static_cast<unsigned>(year / 100));
  two(static_cast<unsigned>(year % 100));
  two(month);
  two(day);
  two(static_cast<unsigned>(rem / 3600));
  two(static_cast<unsigned>(rem % 3600 / 60));
  two(static_cast<unsigned>(rem % 60));
  *p++ = 'Z';
  out.size = static_cast<std::uint8_t>(p - out.bytes);
  return OkStatus();
}

// EncodeTimeFast with the date part of the last day kept: CRL entries are often revoked on
// the same day as their neighbours, and then only HHMMSS changes.
class TimeEncoder {
 public:
  Status Encode(TimePoint t, bool generalized_always, TimeDer& out) {
    const std::int64_t secs = ToUnixSeconds(t);
    const std::int64_t day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    if (day != day_ || generalized_always != generalized_) {
      GMPKI_RETURN_IF_ERROR(EncodeTimeFast(t, generalized_always, date_));
      day_ = day;
      generalized_ = generalized_always;
      out = date_;
      return OkStatus();
    }
    out = date_;
    const auto rem = static_cast<unsigned>(secs - day * 86400);
    std::uint8_t* p = out.bytes + out.size - 7;  // HHMMSS before the final 'Z'
    for (unsigned v : {rem / 3600, rem % 3600 / 60, rem % 60}) {
      *p++ = static_cast<std::uint8_t>('0' + v / 10);
      *p++ = static_cast<std::uint8_t>('0' + v % 10);
    }
    return OkStatus();
  }

 private:
  std::int64_t day_ = std::numeric_limits<std::int64_t>::min();
  bool generalized_ = false;
  TimeDer date_;
};

// Entry extensions (RFC 5280 sections 5.3.1, 5.3.2), non-critical, as fixed byte strings:
// Extension { extnID, extnValue OCTET STRING { ... } }.
constexpr std::uint8_t kReasonCodeDer[] = {0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
                                           0x04, 0x03, 0x0a, 0x01 /* reason octet follows */};
constexpr std::uint8_t kInvalidityDateDer[] = {0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18,
                                               0x04, 0x11 /* GeneralizedTime follows */};
constexpr std::size_t kReasonCodeSize = sizeof kReasonCodeDer + 1;
constexpr std::size_t kInvalidityDateSize = sizeof kInvalidityDateDer + 17;
constexpr std::uint8_t kReasonCodeOid[] = {0x55, 0x1d, 0x15};
constexpr std::uint8_t kInvalidityDateOid[] = {0x55, 0x1d, 0x18};

bool HasReason(const RevokedEntry& e) {
  // RFC 5280 section 5.3.1: the reasonCode "unspecified" SHOULD be absent.
  return e.reason && *e.reason != RevocationReason::kUnspecified;
}

// What pass one learnt about an entry, recomputed cheaply in pass two.
struct EntryShape {
  ByteView serial;  // without leading zero octets
  bool pad = false;  // INTEGER needs a 0x00 because the top bit is set
  std::size_t ext_content = 0;
  std::size_t content = 0;  // SEQUENCE content length (always < 128)
};

Result<EntryShape> ShapeOf(const RevokedEntry& e, TimeEncoder& times, TimeDer& scratch) {
  EntryShape s;
  s.serial = StripZerosView(e.serial);
  if (s.serial.empty() || s.serial.size() > 20) {
    return Error(ErrorCode::kInvalidArgument, "bad serial in revoked entry");
  }
  s.pad = (s.serial[0] & 0x80) != 0;
  GMPKI_RETURN_IF_ERROR(times.Encode(e.revocation_date, false, scratch));
  if (HasReason(e)) {
    const int r = static_cast<int>(*e.reason);
    if (r < 0 || r > 10 || r == 7) {
      return Error(ErrorCode::kInvalidArgument, "unknown revocation reason " + std::to_string(r));
    }
    s.ext_content += kReasonCodeSize;
  }
  if (e.invalidity_date) s.ext_content += kInvalidityDateSize;
  s.content = 2 + s.serial.size() + (s.pad ? 1 : 0) + scratch.size +
              (s.ext_content ? 2 + s.ext_content : 0);
  return s;
}

// `revocation_date` is the entry's date as ShapeOf encoded it.
std::uint8_t* WriteEntry(std::uint8_t* p, const RevokedEntry& e, const EntryShape& s,
                         const TimeDer& revocation_date) {
  TimeDer t;
  *p++ = der::kSequence;
  *p++ = static_cast<std::uint8_t>(s.content);
  *p++ = der::kInteger;
  *p++ = static_cast<std::uint8_t>(s.serial.size() + (s.pad ? 1 : 0));
  if (s.pad) *p++ = 0x00;
  std::memcpy(p, s.serial.data(), s.serial.size());
  p += s.serial.size();
  std::memcpy(p, revocation_date.bytes, revocation_date.size);
  p += revocation_date.size;
  if (s.ext_content) {
    *p++ = der::kSequence;
    *p++ = static_cast<std::uint8_t>(s.ext_content);
    if (HasReason(e)) {
      std::memcpy(p, kReasonCodeDer, sizeof kReasonCodeDer);
      p += sizeof kReasonCodeDer;
      *p++ = static_cast<std::uint8_t>(*e.reason);
    }
    if (e.invalidity_date) {
      std::memcpy(p, kInvalidityDateDer, sizeof kInvalidityDateDer);
      p += sizeof kInvalidityDateDer;
      (void)EncodeTimeFast(*e.invalidity_date, true, t);  // validated in pass one
      std::memcpy(p, t.bytes, t.size);
      p += t.size;
    }
  }
  return p;
}

// Serials must be unique (RFC 5280 section 5.1.2.6 lists each revoked certificate once).
// Callers usually pass them in ascending order (the CA's query does), which is checked in
// pass one at no cost; other orders pay for a sort of views.
Status CheckUnique(const std::vector<RevokedEntry>& entries) {
  std::vector<ByteView> serials;
  serials.reserve(entries.size());
  for (const auto& e : entries) serials.push_back(StripZerosView(e.serial));
  std::sort(serials.begin(), serials.end(),
            [](ByteView a, ByteView b) { return CompareMagnitude(a, b) < 0; });
  for (std::size_t i = 1; i < serials.size(); ++i) {
    if (CompareMagnitude(serials[i - 1], serials[i]) == 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "serial listed twice: " + internal::SerialHex(serials[i]));
    }
  }
  return OkStatus();
}

}  // namespace

Result<Bytes> BuildCrl(const CrlSpec& spec, const Signer& signer) {
  if (spec.next_update <= spec.this_update) {
    return Error(ErrorCode::kInvalidArgument, "nextUpdate must be after thisUpdate");
  }
  if (!signer.sign) return Error(ErrorCode::kInvalidArgument, "signer has no sign function");
  GMPKI_ASSIGN_OR_RETURN(Bytes this_update, der::Time(spec.this_update));
  GMPKI_ASSIGN_OR_RETURN(Bytes next_update, der::Time(spec.next_update));
  const Bytes alg = Sm3WithSm2AlgorithmId();
  Bytes head = der::Integer(1);
  for (const Bytes* part : std::initializer_list<const Bytes*>{&alg, &spec.issuer.der(),
                                                               &this_update, &next_update}) {
    head.insert(head.end(), part->begin(), part->end());
  }
  // Pass one: validate and measure.
  std::size_t revoked_content = 0;
  bool ascending = true;
  ByteView previous;
  TimeDer scratch;
  TimeEncoder times;
  for (const auto& e : spec.entries) {
    GMPKI_ASSIGN_OR_RETURN(EntryShape s, ShapeOf(e, times, scratch));
    if (e.invalidity_date) {
      GMPKI_RETURN_IF_ERROR(EncodeTimeFast(*e.invalidity_date, true, scratch));
    }
    if (!previous.empty() && CompareMagnitude(previous, s.serial) >= 0) ascending = false;
    previous = s.serial;
    revoked_content += 2 + s.content;
  }
  if (!ascending) GMPKI_RETURN_IF_ERROR(CheckUnique(spec.entries));

  // RFC 5280 section 5.2: conforming CRL issuers MUST include AKI and cRLNumber.
  std::vector<Extension> exts{
      ext::AuthorityKeyIdentifier(spec.authority_key_id.empty()
                                      ? KeyIdentifierFor(signer.public_key)
                                      : spec.authority_key_id),
      ext::CrlNumber(spec.crl_number)};
  if (spec.delta_base) exts.push_back(ext::DeltaCrlIndicator(*spec.delta_base));
  if (spec.issuing_distribution_point) {
    GMPKI_ASSIGN_OR_RETURN(Extension idp,
                           ext::IssuingDistributionPoint(*spec.issuing_distribution_point));
    exts.push_back(std::move(idp));
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes encoded_exts, EncodeExtensions(exts));
  const Bytes ext_block = der::Explicit(0, encoded_exts);

  // RFC 5280 section 5.1.2.6: "When there are no revoked certificates, the revoked
  // certificates list MUST be absent."
  const std::size_t revoked_total = spec.entries.empty() ? 0 : TlvSize(revoked_content);
  const std::size_t tbs_content = head.size() + revoked_total + ext_block.size();
  const std::size_t tbs_total = TlvSize(tbs_content);
  // The outer SEQUENCE header goes in front of the TBS, but its length depends on the
  // signature's (DER SM2Signature: 8..72 octets). Room for the longest is kept; in the rare
  // case the header turns out shorter the buffer is shifted once.
  constexpr std::size_t kMaxSignature = 72;
  const std::size_t max_outer = tbs_total + alg.size() + TlvSize(1 + kMaxSignature);
  const std::size_t front = 1 + LengthOfLength(max_outer);
  Bytes out(front + max_outer);
  std::uint8_t* const tbs_start = out.data() + front;
  std::uint8_t* p = PutHeader(tbs_start, der::kSequence, tbs_content);
  std::memcpy(p, head.data(), head.size());
  p += head.size();
  if (!spec.entries.empty()) {
    p = PutHeader(p, der::kSequence, revoked_content);
    for (const auto& e : spec.entries) {
      GMPKI_ASSIGN_OR_RETURN(EntryShape s, ShapeOf(e, times, scratch));
      p = WriteEntry(p, e, s, scratch);
    }
  }
  std::memcpy(p, ext_block.data(), ext_block.size());
  p += ext_block.size();
  if (static_cast<std::size_t>(p - tbs_start) != tbs_total) {
    return Error(ErrorCode::kInternal, "CRL encoder length mismatch");
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes sig, signer.sign(ByteView(tbs_start, tbs_total)));
  if (sig.size() > kMaxSignature) {
    return Error(ErrorCode::kInternal, "signature longer than a DER SM2Signature");
  }
  std::memcpy(p, alg.data(), alg.size());
  p += alg.size();
  p = PutHeader(p, der::kBitString, 1 + sig.size());
  *p++ = 0x00;  // no unused bits
  std::memcpy(p, sig.data(), sig.size());
  p += sig.size();
  const std::size_t outer = static_cast<std::size_t>(p - tbs_start);
  const std::size_t header = 1 + LengthOfLength(outer);
  PutHeader(out.data() + (front - header), der::kSequence, outer);
  out.resize(static_cast<std::size_t>(p - out.data()));
  if (header < front) {
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(front - header));
  }
  return out;
}

namespace {

// Extensions ::= SEQUENCE OF Extension of one CRL entry (RFC 5280 section 5.3).
Status ParseEntryExtensions(ByteView content, RevokedEntry& e) {
  der::Reader r(content);
  bool seen_reason = false, seen_invalidity = false;
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element ext, r.Expect(der::kSequence));
    der::Reader xr(ext.content);
    GMPKI_ASSIGN_OR_RETURN(der::Element o, xr.Expect(der::kOid));
    GMPKI_ASSIGN_OR_RETURN(auto crit, xr.Optional(der::kBoolean));
    if (crit) GMPKI_RETURN_IF_ERROR(der::ParseBoolean(*crit));
    GMPKI_ASSIGN_OR_RETURN(der::Element v, xr.Expect(der::kOctetString));
    GMPKI_RETURN_IF_ERROR(xr.ExpectEnd());
    auto is = [&o](const std::uint8_t (&want)[3]) {
      return o.content.size() == 3 && std::memcmp(o.content.data(), want, 3) == 0;
    };
    if (is(kReasonCodeOid)) {
      if (seen_reason) return Bad("duplicate reasonCode");
      seen_reason = true;
      GMPKI_ASSIGN_OR_RETURN(der::Element en, der::ParseSingle(v.content));
      if (en.tag != der::kEnumerated) return Bad("reasonCode is not ENUMERATED");
      GMPKI_ASSIGN_OR_RETURN(std::int64_t reason, der::ParseSmallInteger(en));
      if (reason < 0 || reason > 10 || reason == 7) return Bad("unknown reasonCode");
      e.reason = static_cast<RevocationReason>(reason);
    } else if (is(kInvalidityDateOid)) {
      if (seen_invalidity) return Bad("duplicate invalidityDate");
      seen_invalidity = true;
      GMPKI_ASSIGN_OR_RETURN(der::Element g, der::ParseSingle(v.content));
      GMPKI_ASSIGN_OR_RETURN(TimePoint t, der::ParseTime(g));
      e.invalidity_date = t;
    }
  }
  return OkStatus();
}

}  // namespace

Result<Crl> Crl::FromDer(ByteView bytes) {
  if (bytes.size() > kMaxCrlSize) return Error(ErrorCode::kTooLarge, "CRL larger than 128 MiB");
  GMPKI_ASSIGN_OR_RETURN(internal::SignedParts parts, internal::SplitSigned(bytes, "CRL"));
  Crl c;
  c.der_.assign(bytes.begin(), bytes.end());
  c.tbs_offset_ = static_cast<std::size_t>(parts.tbs.whole.data() - bytes.data());
  c.tbs_size_ = parts.tbs.whole.size();
  c.signature_ = std::move(parts.signature);

  der::Reader r(parts.tbs.content);
  GMPKI_ASSIGN_OR_RETURN(auto ver, r.Optional(der::kInteger));
  if (ver) {
    GMPKI_ASSIGN_OR_RETURN(std::int64_t v, der::ParseSmallInteger(*ver));
    if (v != 1) return Bad("unknown version");
    c.version_ = 2;
  }
  GMPKI_ASSIGN_OR_RETURN(der::Element alg, r.Expect(der::kSequence));
  if (!std::equal(alg.whole.begin(), alg.whole.end(), parts.algorithm.whole.begin(),
                  parts.algorithm.whole.end())) {
    return Bad("signatureAlgorithm differs from tbsCertList.signature");
  }
  GMPKI_ASSIGN_OR_RETURN(der::Element issuer, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.issuer_, Name::FromDer(issuer.whole));
  GMPKI_ASSIGN_OR_RETURN(der::Element tu, r.Next());
  GMPKI_ASSIGN_OR_RETURN(c.this_update_, der::ParseTime(tu));
  if (IsTime(r.PeekTag())) {
    GMPKI_ASSIGN_OR_RETURN(der::Element nu, r.Next());
    GMPKI_ASSIGN_OR_RETURN(TimePoint t, der::ParseTime(nu));
    c.next_update_ = t;
  }
  GMPKI_ASSIGN_OR_RETURN(auto revoked, r.Optional(der::kSequence));
  if (revoked) {
    // Entries are read without the generic extension parser: a large CA's CRL has millions,
    // and only reasonCode and invalidityDate matter here (others are skipped, as before).
    der::Reader rr(revoked->content);
    ByteView previous;
    while (!rr.empty()) {
      GMPKI_ASSIGN_OR_RETURN(der::Element entry, rr.Expect(der::kSequence));
      der::Reader er(entry.content);
      RevokedEntry e;
      GMPKI_ASSIGN_OR_RETURN(der::Element serial, er.Expect(der::kInteger));
      GMPKI_ASSIGN_OR_RETURN(e.serial, der::ParseUnsignedInteger(serial));
      GMPKI_ASSIGN_OR_RETURN(der::Element date, er.Next());
      GMPKI_ASSIGN_OR_RETURN(e.revocation_date, der::ParseTime(date));
      GMPKI_ASSIGN_OR_RETURN(auto exts, er.Optional(der::kSequence));
      GMPKI_RETURN_IF_ERROR(er.ExpectEnd());
      if (exts) GMPKI_RETURN_IF_ERROR(ParseEntryExtensions(exts->content, e));
      ByteView mag = StripZerosView(e.serial);
      if (!c.entries_.empty() && CompareMagnitude(previous, mag) >= 0) c.ascending_ = false;
      c.entries_.push_back(std::move(e));
      previous = StripZerosView(c.entries_.back().serial);
    }
  }
  GMPKI_ASSIGN_OR_RETURN(auto exts, r.Optional(der::ContextConstructed(0)));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  if (exts) {
    GMPKI_ASSIGN_OR_RETURN(c.extensions_, ParseExtensions(exts->content));
    if (const Extension* e = FindExtension(c.extensions_, oid::kCrlNumber)) {
      GMPKI_ASSIGN_OR_RETURN(std::uint64_t n, ParseCrlNumber(e->value));
      c.crl_number_ = n;
    }
    if (const Extension* e = FindExtension(c.extensions_, oid::kDeltaCrlIndicator)) {
      GMPKI_ASSIGN_OR_RETURN(std::uint64_t n, ParseCrlNumber(e->value));
      c.delta_base_ = n;
    }
    if (const Extension* e = FindExtension(c.extensions_, oid::kIssuingDistributionPoint)) {
      GMPKI_ASSIGN_OR_RETURN(IssuingDistributionPointValue idp,
                             ParseIssuingDistributionPoint(e->value));
      c.issuing_distribution_point_ = std::move(idp);
    }
    if (const Extension* e = FindExtension(c.extensions_, oid::kAuthorityKeyIdentifier)) {
      GMPKI_ASSIGN_OR_RETURN(Bytes aki, ParseAuthorityKeyIdentifier(e->value));
      if (!aki.empty()) c.authority_key_id_ = std::move(aki);
    }
  }
  return c;
}

Result<Crl> Crl::FromPem(std::string_view pem) {
  GMPKI_ASSIGN_OR_RETURN(Bytes der, PemDecode(pem, kPemCrl));
  return FromDer(der);
}

Result<Crl> Crl::Parse(ByteView data) {
  if (LooksLikePem(data)) return FromPem(ToString(data));
  return FromDer(data);
}

const RevokedEntry* Crl::Find(ByteView serial) const {
  const ByteView want = StripZerosView(serial);
  if (ascending_) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), want,
                               [](const RevokedEntry& e, ByteView w) {
                                 return CompareMagnitude(StripZerosView(e.serial), w) < 0;
                               });
    if (it != entries_.end() && CompareMagnitude(StripZerosView(it->serial), want) == 0) {
      return &*it;
    }
    return nullptr;
  }
  for (const auto& e : entries_) {
    if (CompareMagnitude(StripZerosView(e.serial), want) == 0) return &e;
  }
  return nullptr;
}

std::string Crl::ToPem() const { return PemEncode(kPemCrl, der_); }

Status VerifyCrlSignature(const Crl& crl, const crypto::Sm2PublicKey& issuer_key) {
  // Over the TBSCertList bytes as received, not re-encoded (STANDARDS-NOTES section 8.2
  // caveat on i2d_re_X509_CRL_tbs).
  Status s = VerifySm2Signature(issuer_key, crl.tbs_der(), crl.signature());
  if (!s.ok()) {
    return Error(ErrorCode::kBadSignature,
                 "CRL from " + crl.issuer().ToString() + ": signature does not verify");
  }
  return s;
}

}  // namespace gmpki::x509
