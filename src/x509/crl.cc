#include "x509/crl.h"

#include <algorithm>
#include <set>

#include "x509/der.h"
#include "x509/pem.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

constexpr std::size_t kMaxCrlSize = 16 * 1024 * 1024;

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

Bytes StripZeros(ByteView b) {
  std::size_t i = 0;
  while (i < b.size() && b[i] == 0) ++i;
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(i), b.end());
}

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

Result<Bytes> BuildCrl(const CrlSpec& spec, const Signer& signer) {
  if (spec.next_update <= spec.this_update) {
    return Error(ErrorCode::kInvalidArgument, "nextUpdate must be after thisUpdate");
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes this_update, der::Time(spec.this_update));
  GMPKI_ASSIGN_OR_RETURN(Bytes next_update, der::Time(spec.next_update));
  std::vector<Bytes> tbs{der::Integer(1), Sm3WithSm2AlgorithmId(), spec.issuer.der(),
                         this_update, next_update};
  if (!spec.entries.empty()) {
    std::set<Bytes> seen;
    std::vector<Bytes> revoked;
    for (const auto& e : spec.entries) {
      Bytes serial = StripZeros(e.serial);
      if (serial.empty() || serial.size() > 20) {
        return Error(ErrorCode::kInvalidArgument, "bad serial in revoked entry");
      }
      if (!seen.insert(serial).second) {
        return Error(ErrorCode::kInvalidArgument, "serial listed twice: " +
                                                      internal::SerialHex(serial));
      }
      GMPKI_ASSIGN_OR_RETURN(Bytes date, der::Time(e.revocation_date));
      std::vector<Bytes> entry{der::IntegerFromUnsigned(serial), date};
      std::vector<Extension> exts;
      // RFC 5280 section 5.3.1: the reasonCode "unspecified" SHOULD be absent.
      if (e.reason && *e.reason != RevocationReason::kUnspecified) {
        exts.push_back(ext::ReasonCode(static_cast<int>(*e.reason)));
      }
      if (e.invalidity_date) {
        GMPKI_ASSIGN_OR_RETURN(Extension inv, ext::InvalidityDate(*e.invalidity_date));
        exts.push_back(std::move(inv));
      }
      if (!exts.empty()) {
        GMPKI_ASSIGN_OR_RETURN(Bytes encoded, EncodeExtensions(exts));
        entry.push_back(std::move(encoded));
      }
      revoked.push_back(der::Sequence(entry));
    }
    tbs.push_back(der::Sequence(revoked));
  }
  // RFC 5280 section 5.2: conforming CRL issuers MUST include AKI and cRLNumber.
  std::vector<Extension> exts{
      ext::AuthorityKeyIdentifier(spec.authority_key_id.empty()
                                      ? KeyIdentifierFor(signer.public_key)
                                      : spec.authority_key_id),
      ext::CrlNumber(spec.crl_number)};
  if (spec.delta_base) exts.push_back(ext::DeltaCrlIndicator(*spec.delta_base));
  GMPKI_ASSIGN_OR_RETURN(Bytes encoded, EncodeExtensions(exts));
  tbs.push_back(der::Explicit(0, encoded));
  return SignAndWrap(der::Sequence(tbs), signer);
}

Result<Crl> Crl::FromDer(ByteView bytes) {
  if (bytes.size() > kMaxCrlSize) return Error(ErrorCode::kTooLarge, "CRL larger than 16 MiB");
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
    der::Reader rr(revoked->content);
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
      if (exts) {
        GMPKI_ASSIGN_OR_RETURN(std::vector<Extension> list, ParseExtensions(exts->whole));
        if (const Extension* rc = FindExtension(list, oid::kReasonCode)) {
          GMPKI_ASSIGN_OR_RETURN(der::Element en, der::ParseSingle(rc->value));
          if (en.tag != der::kEnumerated) return Bad("reasonCode is not ENUMERATED");
          GMPKI_ASSIGN_OR_RETURN(std::int64_t reason, der::ParseSmallInteger(en));
          if (reason < 0 || reason > 10 || reason == 7) return Bad("unknown reasonCode");
          e.reason = static_cast<RevocationReason>(reason);
        }
        if (const Extension* inv = FindExtension(list, oid::kInvalidityDate)) {
          GMPKI_ASSIGN_OR_RETURN(der::Element g, der::ParseSingle(inv->value));
          GMPKI_ASSIGN_OR_RETURN(TimePoint t, der::ParseTime(g));
          e.invalidity_date = t;
        }
      }
      c.entries_.push_back(std::move(e));
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
  Bytes want = StripZeros(serial);
  for (const auto& e : entries_) {
    if (StripZeros(e.serial) == want) return &e;
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
