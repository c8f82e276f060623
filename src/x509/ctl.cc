#include "x509/ctl.h"

#include <set>

#include "x509/der.h"
#include "x509/pem.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

Error Bad(std::string what) { return Error(ErrorCode::kMalformedInput, "CTL: " + what); }

Bytes UnsignedBe(std::uint64_t v) {
  Bytes b;
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return b;
}

}  // namespace

Result<Bytes> BuildCtl(const CtlSpec& spec, const Signer& signer) {
  if (spec.next_update <= spec.this_update) {
    return Error(ErrorCode::kInvalidArgument, "nextUpdate must be after thisUpdate");
  }
  if (spec.trusted.empty()) return Error(ErrorCode::kInvalidArgument, "empty trust list");
  GMPKI_ASSIGN_OR_RETURN(Bytes this_update, der::GeneralizedTime(spec.this_update));
  GMPKI_ASSIGN_OR_RETURN(Bytes next_update, der::GeneralizedTime(spec.next_update));
  std::set<Bytes> seen;
  std::vector<Bytes> entries;
  for (const auto& t : spec.trusted) {
    if (!t.certificate.is_ca()) {
      return Error(ErrorCode::kInvalidArgument,
                   "not a CA certificate: " + t.certificate.subject().ToString());
    }
    if (!seen.insert(t.certificate.der()).second) {
      return Error(ErrorCode::kInvalidArgument,
                   "listed twice: " + t.certificate.subject().ToString());
    }
    std::vector<Bytes> entry{t.certificate.der()};
    if (!t.usages.empty()) {
      std::vector<Bytes> oids;
      for (const auto& u : t.usages) {
        GMPKI_ASSIGN_OR_RETURN(Bytes o, der::Oid(u));
        oids.push_back(std::move(o));
      }
      entry.push_back(der::Sequence(oids));
    }
    entries.push_back(der::Sequence(entry));
  }
  Bytes tbs = der::Sequence({der::Integer(1),
                             der::IntegerFromUnsigned(UnsignedBe(spec.sequence_number)),
                             this_update, next_update, spec.issuer.der(), der::Sequence(entries)});
  return SignAndWrap(tbs, signer);
}

Result<CertificateTrustList> CertificateTrustList::FromDer(ByteView bytes) {
  if (bytes.size() > kMaxSize) return Error(ErrorCode::kTooLarge, "CTL larger than 4 MiB");
  GMPKI_ASSIGN_OR_RETURN(internal::SignedParts parts, internal::SplitSigned(bytes, "CTL"));
  CertificateTrustList c;
  c.der_.assign(bytes.begin(), bytes.end());
  c.tbs_offset_ = static_cast<std::size_t>(parts.tbs.whole.data() - bytes.data());
  c.tbs_size_ = parts.tbs.whole.size();
  c.signature_ = std::move(parts.signature);

  der::Reader r(parts.tbs.content);
  GMPKI_ASSIGN_OR_RETURN(der::Element ver, r.Expect(der::kInteger));
  GMPKI_ASSIGN_OR_RETURN(std::int64_t v, der::ParseSmallInteger(ver));
  if (v != 1) return Bad("unknown version");
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, r.Expect(der::kInteger));
  GMPKI_ASSIGN_OR_RETURN(Bytes seq_mag, der::ParseUnsignedInteger(seq));
  if (seq_mag.size() > 8) return Bad("sequenceNumber wider than 64 bits");
  for (std::uint8_t b : seq_mag) c.sequence_number_ = (c.sequence_number_ << 8) | b;
  GMPKI_ASSIGN_OR_RETURN(der::Element tu, r.Expect(der::kGeneralizedTime));
  GMPKI_ASSIGN_OR_RETURN(c.this_update_, der::ParseTime(tu));
  GMPKI_ASSIGN_OR_RETURN(der::Element nu, r.Expect(der::kGeneralizedTime));
  GMPKI_ASSIGN_OR_RETURN(c.next_update_, der::ParseTime(nu));
  GMPKI_ASSIGN_OR_RETURN(der::Element issuer, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.issuer_, Name::FromDer(issuer.whole));
  GMPKI_ASSIGN_OR_RETURN(der::Element list, r.Expect(der::kSequence));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  der::Reader lr(list.content);
  while (!lr.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element entry, lr.Expect(der::kSequence));
    der::Reader er(entry.content);
    GMPKI_ASSIGN_OR_RETURN(der::Element cert, er.Expect(der::kSequence));
    GMPKI_ASSIGN_OR_RETURN(Certificate parsed, Certificate::FromDer(cert.whole));
    TrustedCa t{std::move(parsed), {}};
    GMPKI_ASSIGN_OR_RETURN(auto usage, er.Optional(der::kSequence));
    GMPKI_RETURN_IF_ERROR(er.ExpectEnd());
    if (usage) {
      der::Reader ur(usage->content);
      while (!ur.empty()) {
        GMPKI_ASSIGN_OR_RETURN(der::Element o, ur.Expect(der::kOid));
        GMPKI_ASSIGN_OR_RETURN(std::string s, der::OidToString(o.content));
        t.usages.push_back(std::move(s));
      }
    }
    c.trusted_.push_back(std::move(t));
  }
  return c;
}

Result<CertificateTrustList> CertificateTrustList::FromPem(std::string_view pem) {
  GMPKI_ASSIGN_OR_RETURN(Bytes der, PemDecode(pem, kPemCtl));
  return FromDer(der);
}

std::string CertificateTrustList::ToPem() const { return PemEncode(kPemCtl, der_); }

Status VerifyCtlSignature(const CertificateTrustList& ctl, const crypto::Sm2PublicKey& signer_key) {
  Status s = VerifySm2Signature(signer_key, ctl.tbs_der(), ctl.signature());
  if (!s.ok()) {
    return Error(ErrorCode::kBadSignature,
                 "CTL from " + ctl.issuer().ToString() + ": signature does not verify");
  }
  return s;
}

}  // namespace gmpki::x509
