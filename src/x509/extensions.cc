#include "x509/extensions.h"

#include <set>

#include "x509/der.h"

namespace gmpki::x509 {
namespace {

constexpr std::string_view kOcspAccess = "1.3.6.1.5.5.7.48.1";
constexpr std::string_view kCaIssuersAccess = "1.3.6.1.5.5.7.48.2";
constexpr std::string_view kCpsQualifier = "1.3.6.1.5.5.7.2.1";

// GeneralName tags (RFC 5280 section 4.2.1.6; the module is IMPLICIT TAGS).
constexpr std::uint8_t kGnEmail = der::ContextPrimitive(1);
constexpr std::uint8_t kGnDns = der::ContextPrimitive(2);
constexpr std::uint8_t kGnUri = der::ContextPrimitive(6);

Extension Make(std::string_view oid, bool critical, Bytes value) {
  return Extension{std::string(oid), critical, std::move(value)};
}

Result<Bytes> GeneralNameIa5(std::uint8_t tag, const std::string& s) {
  if (s.empty()) return Error(ErrorCode::kInvalidArgument, "empty general name");
  GMPKI_ASSIGN_OR_RETURN(Bytes ia5, der::Ia5String(s));
  ia5[0] = tag;
  return ia5;
}

Result<Extension> StringExtension(std::string_view oid, std::string_view value) {
  if (value.empty()) {
    return Error(ErrorCode::kInvalidArgument, "empty value for " + std::string(oid));
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes v, der::PrintableString(value));
  return Make(oid, false, std::move(v));
}

Error Bad(std::string_view what) {
  return Error(ErrorCode::kMalformedInput, "extension: " + std::string(what));
}

}  // namespace

Bytes KeyIdentifierFor(const crypto::Sm2PublicKey& key) {
  crypto::Sm3Digest d = crypto::Sm3(key.point());
  return Bytes(d.begin(), d.begin() + 20);
}

namespace ext {

Extension BasicConstraints(bool ca, std::optional<int> path_len, bool critical) {
  std::vector<Bytes> items;
  if (ca) items.push_back(der::Boolean(true));  // DEFAULT FALSE is omitted in DER
  if (ca && path_len) items.push_back(der::Integer(*path_len));
  return Make(oid::kBasicConstraints, critical, der::Sequence(items));
}

Result<Extension> KeyUsage(std::uint16_t bits, bool critical) {
  if (bits == 0 || bits > 0x1ff) return Error(ErrorCode::kInvalidArgument, "bad keyUsage bits");
  return Make(oid::kKeyUsage, critical, der::NamedBitString(bits));
}

Result<Extension> ExtKeyUsage(const std::vector<std::string>& purpose_oids, bool critical) {
  if (purpose_oids.empty()) return Error(ErrorCode::kInvalidArgument, "empty extKeyUsage");
  std::vector<Bytes> items;
  for (const auto& o : purpose_oids) {
    GMPKI_ASSIGN_OR_RETURN(Bytes b, der::Oid(o));
    items.push_back(std::move(b));
  }
  return Make(oid::kExtKeyUsage, critical, der::Sequence(items));
}

Extension SubjectKeyIdentifier(ByteView key_id) {
  return Make(oid::kSubjectKeyIdentifier, false, der::OctetString(key_id));
}

Extension AuthorityKeyIdentifier(ByteView key_id) {
  return Make(oid::kAuthorityKeyIdentifier, false,
              der::Sequence({der::Tlv(der::ContextPrimitive(0), key_id)}));
}

Result<Extension> CrlDistributionPoints(const std::vector<std::string>& uris) {
  if (uris.empty()) return Error(ErrorCode::kInvalidArgument, "no CRL distribution point");
  std::vector<Bytes> points;
  for (const auto& u : uris) {
    GMPKI_ASSIGN_OR_RETURN(Bytes gn, GeneralNameIa5(kGnUri, u));
    // distributionPoint [0] DistributionPointName (a CHOICE, hence explicit) whose fullName
    // [0] IMPLICIT GeneralNames.
    Bytes full_name = der::Tlv(der::ContextConstructed(0), gn);
    points.push_back(der::Sequence({der::Explicit(0, full_name)}));
  }
  return Make(oid::kCrlDistributionPoints, false, der::Sequence(points));
}

// RFC 5280 section 5.2.5; tags in the IMPLICIT module: distributionPoint [0] (a CHOICE, hence
// explicit) holding fullName [0] GeneralNames; onlyContainsUserCerts [1], onlyContainsCACerts
// [2] BOOLEAN, DEFAULT FALSE so omitted unless true (X.690 section 11.5).
Result<Extension> IssuingDistributionPoint(const IssuingDistributionPointValue& idp) {
  if (idp.full_name_uris.empty()) {
    return Error(ErrorCode::kInvalidArgument, "issuingDistributionPoint without a URI");
  }
  if (idp.only_user_certs && idp.only_ca_certs) {
    return Error(ErrorCode::kInvalidArgument,
                 "issuingDistributionPoint: onlyContainsUserCerts and onlyContainsCACerts");
  }
  Bytes names;
  for (const auto& u : idp.full_name_uris) {
    GMPKI_ASSIGN_OR_RETURN(Bytes gn, GeneralNameIa5(kGnUri, u));
    names.insert(names.end(), gn.begin(), gn.end());
  }
  std::vector<Bytes> items{der::Explicit(0, der::Tlv(der::ContextConstructed(0), names))};
  const Bytes kTrue{0xff};
  if (idp.only_user_certs) items.push_back(der::Tlv(der::ContextPrimitive(1), kTrue));
  if (idp.only_ca_certs) items.push_back(der::Tlv(der::ContextPrimitive(2), kTrue));
  return Make(oid::kIssuingDistributionPoint, true, der::Sequence(items));
}

Result<Extension> AuthorityInfoAccess(const std::vector<std::string>& ocsp_uris,
                                      const std::vector<std::string>& ca_issuers_uris) {
  std::vector<Bytes> items;
  for (const auto& u : ocsp_uris) {
    GMPKI_ASSIGN_OR_RETURN(Bytes gn, GeneralNameIa5(kGnUri, u));
    items.push_back(der::Sequence({der::OidLiteral(kOcspAccess), gn}));
  }
  for (const auto& u : ca_issuers_uris) {
    GMPKI_ASSIGN_OR_RETURN(Bytes gn, GeneralNameIa5(kGnUri, u));
    items.push_back(der::Sequence({der::OidLiteral(kCaIssuersAccess), gn}));
  }
  if (items.empty()) return Error(ErrorCode::kInvalidArgument, "empty authorityInfoAccess");
  return Make(oid::kAuthorityInfoAccess, false, der::Sequence(items));
}

Result<Extension> CertificatePolicies(const std::vector<std::string>& policy_oids,
                                      std::optional<std::string> cps_uri) {
  if (policy_oids.empty()) return Error(ErrorCode::kInvalidArgument, "no policy OID");
  std::vector<Bytes> infos;
  for (std::size_t i = 0; i < policy_oids.size(); ++i) {
    GMPKI_ASSIGN_OR_RETURN(Bytes o, der::Oid(policy_oids[i]));
    std::vector<Bytes> info{o};
    if (i == 0 && cps_uri) {
      GMPKI_ASSIGN_OR_RETURN(Bytes uri, der::Ia5String(*cps_uri));
      info.push_back(der::Sequence({der::Sequence({der::OidLiteral(kCpsQualifier), uri})}));
    }
    infos.push_back(der::Sequence(info));
  }
  return Make(oid::kCertificatePolicies, false, der::Sequence(infos));
}

Result<Extension> SubjectAltName(const AltNames& names, bool critical) {
  if (names.empty()) return Error(ErrorCode::kInvalidArgument, "empty subjectAltName");
  std::vector<Bytes> gns;
  for (const auto& e : names.emails) {
    GMPKI_ASSIGN_OR_RETURN(Bytes b, GeneralNameIa5(kGnEmail, e));
    gns.push_back(std::move(b));
  }
  for (const auto& d : names.dns_names) {
    GMPKI_ASSIGN_OR_RETURN(Bytes b, GeneralNameIa5(kGnDns, d));
    gns.push_back(std::move(b));
  }
  for (const auto& u : names.uris) {
    GMPKI_ASSIGN_OR_RETURN(Bytes b, GeneralNameIa5(kGnUri, u));
    gns.push_back(std::move(b));
  }
  return Make(oid::kSubjectAltName, critical, der::Sequence(gns));
}

Result<Extension> IdentifyCode(const IdentityCode& code) {
  if (code.number.empty()) return Error(ErrorCode::kInvalidArgument, "empty identity code");
  Bytes inner;
  if (code.kind == IdentityCodeKind::kMilitaryOfficerCard) {
    inner = der::Utf8String(code.number);
  } else {
    GMPKI_ASSIGN_OR_RETURN(inner, der::PrintableString(code.number));
  }
  // EXPLICIT: STANDARDS-NOTES section 1.5 (xipki CHANGELOG 5.3.2 "Use EXPLICIT tag for the
  // GMT 0015 IdentityCode"); the standard's text does not say.
  return Make(oid::kIdentifyCode, false, der::Explicit(static_cast<int>(code.kind), inner));
}

Result<Extension> InsuranceNumber(std::string_view n) {
  return StringExtension(oid::kInsuranceNumber, n);
}
Result<Extension> IcRegistrationNumber(std::string_view n) {
  return StringExtension(oid::kIcRegistrationNumber, n);
}
Result<Extension> OrganizationCode(std::string_view c) {
  return StringExtension(oid::kOrganizationCode, c);
}
Result<Extension> TaxationNumber(std::string_view n) {
  return StringExtension(oid::kTaxationNumber, n);
}
Result<Extension> UnifiedSocialCreditCode(std::string_view c) {
  return StringExtension(oid::kUnifiedSocialCreditCode, c);
}

static Bytes UnsignedBe(std::uint64_t v) {
  Bytes b;
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return b;
}

Extension CrlNumber(std::uint64_t number) {
  return Make(oid::kCrlNumber, false, der::IntegerFromUnsigned(UnsignedBe(number)));
}

Extension DeltaCrlIndicator(std::uint64_t base) {
  // RFC 5280 section 5.2.4: "This extension MUST be marked critical."
  return Make(oid::kDeltaCrlIndicator, true, der::IntegerFromUnsigned(UnsignedBe(base)));
}

Extension ReasonCode(int reason) { return Make(oid::kReasonCode, false, der::Enumerated(reason)); }

Result<Extension> InvalidityDate(TimePoint t) {
  GMPKI_ASSIGN_OR_RETURN(Bytes g, der::GeneralizedTime(t));
  return Make(oid::kInvalidityDate, false, std::move(g));
}

Extension OcspNoCheck() { return Make(oid::kOcspNoCheck, false, der::Null()); }

Extension OcspSigningExtKeyUsage() {
  return Make(oid::kExtKeyUsage, false, der::Sequence({der::OidLiteral(oid::kKpOcspSigning)}));
}

}  // namespace ext

Result<BasicConstraintsValue> ParseBasicConstraints(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("basicConstraints");
  der::Reader r(seq.content);
  BasicConstraintsValue v;
  GMPKI_ASSIGN_OR_RETURN(auto ca, r.Optional(der::kBoolean));
  if (ca) {
    GMPKI_ASSIGN_OR_RETURN(v.ca, der::ParseBoolean(*ca));
  }
  GMPKI_ASSIGN_OR_RETURN(auto pl, r.Optional(der::kInteger));
  if (pl) {
    GMPKI_ASSIGN_OR_RETURN(std::int64_t n, der::ParseSmallInteger(*pl));
    if (n < 0 || n > 1000) return Bad("pathLenConstraint out of range");
    v.path_len = static_cast<int>(n);
  }
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  return v;
}

Result<std::uint16_t> ParseKeyUsage(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element e, der::ParseSingle(value));
  GMPKI_ASSIGN_OR_RETURN(std::uint32_t bits, der::ParseNamedBitString(e));
  return static_cast<std::uint16_t>(bits & 0x1ff);
}

static Result<std::vector<std::string>> ParseOidSequence(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("expected SEQUENCE OF OBJECT IDENTIFIER");
  der::Reader r(seq.content);
  std::vector<std::string> out;
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element o, r.Expect(der::kOid));
    GMPKI_ASSIGN_OR_RETURN(std::string s, der::OidToString(o.content));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> ParseExtKeyUsage(ByteView value) {
  return ParseOidSequence(value);
}

Result<Bytes> ParseSubjectKeyIdentifier(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element e, der::ParseSingle(value));
  if (e.tag != der::kOctetString) return Bad("subjectKeyIdentifier");
  return Bytes(e.content.begin(), e.content.end());
}

Result<Bytes> ParseAuthorityKeyIdentifier(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("authorityKeyIdentifier");
  der::Reader r(seq.content);
  GMPKI_ASSIGN_OR_RETURN(auto kid, r.Optional(der::ContextPrimitive(0)));
  GMPKI_RETURN_IF_ERROR(r.Optional(der::ContextConstructed(1)));
  GMPKI_RETURN_IF_ERROR(r.Optional(der::ContextPrimitive(2)));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  if (!kid) return Bytes{};
  return Bytes(kid->content.begin(), kid->content.end());
}

static Status CollectNames(ByteView general_names_content, ext::AltNames& out) {
  der::Reader r(general_names_content);
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element gn, r.Next());
    std::string s(gn.content.begin(), gn.content.end());
    if (gn.tag == kGnEmail) out.emails.push_back(s);
    else if (gn.tag == kGnDns) out.dns_names.push_back(s);
    else if (gn.tag == kGnUri) out.uris.push_back(s);
    // Other GeneralName forms (directoryName, IP address, ...) are not surfaced.
  }
  return OkStatus();
}

Result<std::vector<std::string>> ParseCrlDistributionPoints(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("cRLDistributionPoints");
  der::Reader points(seq.content);
  ext::AltNames names;
  while (!points.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element dp, points.Expect(der::kSequence));
    der::Reader r(dp.content);
    GMPKI_ASSIGN_OR_RETURN(auto dpn, r.Optional(der::ContextConstructed(0)));
    if (!dpn) continue;
    der::Reader inner(dpn->content);
    GMPKI_ASSIGN_OR_RETURN(auto full, inner.Optional(der::ContextConstructed(0)));
    if (full) GMPKI_RETURN_IF_ERROR(CollectNames(full->content, names));
  }
  return names.uris;
}

Result<IssuingDistributionPointValue> ParseIssuingDistributionPoint(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("issuingDistributionPoint");
  der::Reader r(seq.content);
  IssuingDistributionPointValue out;
  GMPKI_ASSIGN_OR_RETURN(auto dpn, r.Optional(der::ContextConstructed(0)));
  if (dpn) {
    der::Reader inner(dpn->content);
    GMPKI_ASSIGN_OR_RETURN(auto full, inner.Optional(der::ContextConstructed(0)));
    if (full) {
      ext::AltNames names;
      GMPKI_RETURN_IF_ERROR(CollectNames(full->content, names));
      out.full_name_uris = std::move(names.uris);
    }
  }
  auto flag = [&r](int n, bool& dst) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto f, r.Optional(der::ContextPrimitive(n)));
    if (!f) return OkStatus();
    if (f->content.size() != 1 || (f->content[0] != 0 && f->content[0] != 0xff)) {
      return Bad("issuingDistributionPoint flag is not a DER BOOLEAN");
    }
    dst = f->content[0] == 0xff;
    return OkStatus();
  };
  GMPKI_RETURN_IF_ERROR(flag(1, out.only_user_certs));
  GMPKI_RETURN_IF_ERROR(flag(2, out.only_ca_certs));
  if (!r.empty()) {
    return Error(ErrorCode::kUnsupported,
                 "issuingDistributionPoint with onlySomeReasons, indirectCRL or attribute "
                 "certificates");
  }
  return out;
}

Result<ext::AltNames> ParseSubjectAltName(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("subjectAltName");
  ext::AltNames names;
  GMPKI_RETURN_IF_ERROR(CollectNames(seq.content, names));
  return names;
}

Result<std::vector<std::string>> ParseCertificatePolicies(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(value));
  if (seq.tag != der::kSequence) return Bad("certificatePolicies");
  der::Reader r(seq.content);
  std::vector<std::string> out;
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element info, r.Expect(der::kSequence));
    der::Reader ir(info.content);
    GMPKI_ASSIGN_OR_RETURN(der::Element o, ir.Expect(der::kOid));
    GMPKI_ASSIGN_OR_RETURN(std::string s, der::OidToString(o.content));
    out.push_back(std::move(s));
  }
  return out;
}

Result<ext::IdentityCode> ParseIdentifyCode(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element e, der::ParseSingle(value));
  if ((e.tag & 0xc0) != 0x80 || (e.tag & 0x1f) > 2) return Bad("IdentifyCode: bad CHOICE tag");
  ext::IdentityCode code;
  code.kind = static_cast<ext::IdentityCodeKind>(e.tag & 0x1f);
  if (e.tag & 0x20) {  // EXPLICIT: the string TLV is inside
    GMPKI_ASSIGN_OR_RETURN(der::Element inner, der::ParseSingle(e.content));
    GMPKI_ASSIGN_OR_RETURN(code.number, der::ParseString(inner));
  } else {  // IMPLICIT: the content octets are the string
    code.number.assign(e.content.begin(), e.content.end());
  }
  if (code.number.empty()) return Bad("IdentifyCode: empty");
  return code;
}

Result<std::string> ParseStringExtension(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element e, der::ParseSingle(value));
  return der::ParseString(e);
}

Result<std::uint64_t> ParseCrlNumber(ByteView value) {
  GMPKI_ASSIGN_OR_RETURN(der::Element e, der::ParseSingle(value));
  GMPKI_ASSIGN_OR_RETURN(Bytes mag, der::ParseUnsignedInteger(e));
  if (mag.size() > 8) return Error(ErrorCode::kUnsupported, "CRL number wider than 64 bits");
  std::uint64_t v = 0;
  for (std::uint8_t b : mag) v = (v << 8) | b;
  return v;
}

Result<Bytes> EncodeExtensions(const std::vector<Extension>& extensions) {
  std::set<std::string> seen;
  std::vector<Bytes> items;
  for (const auto& e : extensions) {
    if (!seen.insert(e.oid).second) {
      return Error(ErrorCode::kInvalidArgument, "duplicate extension " + e.oid);
    }
    GMPKI_ASSIGN_OR_RETURN(Bytes o, der::Oid(e.oid));
    std::vector<Bytes> parts{o};
    if (e.critical) parts.push_back(der::Boolean(true));  // DEFAULT FALSE omitted
    parts.push_back(der::OctetString(e.value));
    items.push_back(der::Sequence(parts));
  }
  return der::Sequence(items);
}

Result<std::vector<Extension>> ParseExtensions(ByteView bytes) {
  GMPKI_ASSIGN_OR_RETURN(der::Element seq, der::ParseSingle(bytes));
  if (seq.tag != der::kSequence) return Bad("Extensions not a SEQUENCE");
  der::Reader r(seq.content);
  std::vector<Extension> out;
  std::set<std::string> seen;
  while (!r.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element ext, r.Expect(der::kSequence));
    der::Reader er(ext.content);
    GMPKI_ASSIGN_OR_RETURN(der::Element o, er.Expect(der::kOid));
    Extension e;
    GMPKI_ASSIGN_OR_RETURN(e.oid, der::OidToString(o.content));
    GMPKI_ASSIGN_OR_RETURN(auto crit, er.Optional(der::kBoolean));
    if (crit) {
      GMPKI_ASSIGN_OR_RETURN(e.critical, der::ParseBoolean(*crit));
    }
    GMPKI_ASSIGN_OR_RETURN(der::Element v, er.Expect(der::kOctetString));
    GMPKI_RETURN_IF_ERROR(er.ExpectEnd());
    e.value.assign(v.content.begin(), v.content.end());
    if (!seen.insert(e.oid).second) return Bad("duplicate extension " + e.oid);
    out.push_back(std::move(e));
  }
  return out;
}

const Extension* FindExtension(const std::vector<Extension>& extensions, std::string_view oid) {
  for (const auto& e : extensions) {
    if (e.oid == oid) return &e;
  }
  return nullptr;
}

}  // namespace gmpki::x509
