// CMS SignedData (RFC 5652 section 5; GM/T 0010-2012 section 7): building with one SM2 signer,
// parsing either OID flavor, verifying under the GM/T ID.
#include "x509/cms_signed.h"

#include <algorithm>
#include <cstring>

#include "crypto/sm3.h"
#include "x509/cms_signed_internal.h"
#include "x509/der.h"

namespace gmpki::x509 {
namespace internal {

void DerBuf::Close() {
  const std::size_t start = open_[--depth_];
  const std::size_t len = out_.size() - start;
  if (len < 0x80) {
    out_[start - 1] = static_cast<std::uint8_t>(len);
    return;
  }
  // Long form: 0x80 | k followed by k length octets (X.690 section 8.1.3.5).
  std::uint8_t k = 0;
  for (std::size_t n = len; n != 0; n >>= 8) ++k;
  out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(start), k, 0);
  out_[start - 1] = static_cast<std::uint8_t>(0x80 | k);
  for (std::uint8_t i = 0; i < k; ++i) {
    out_[start + i] = static_cast<std::uint8_t>(len >> (8 * (k - 1 - i)));
  }
}

void DerBuf::Tlv(std::uint8_t tag, ByteView content) {
  out_.push_back(tag);
  const std::size_t n = content.size();
  if (n < 0x80) {
    out_.push_back(static_cast<std::uint8_t>(n));
  } else {
    std::uint8_t k = 0;
    for (std::size_t m = n; m != 0; m >>= 8) ++k;
    out_.push_back(static_cast<std::uint8_t>(0x80 | k));
    for (std::uint8_t i = 0; i < k; ++i) {
      out_.push_back(static_cast<std::uint8_t>(n >> (8 * (k - 1 - i))));
    }
  }
  out_.insert(out_.end(), content.begin(), content.end());
}

void DerBuf::UnsignedInteger(ByteView magnitude) {
  std::size_t i = 0;
  while (i + 1 < magnitude.size() && magnitude[i] == 0) ++i;
  ByteView m = magnitude.subspan(i);
  out_.push_back(der::kInteger);
  if (m.empty()) {
    out_.push_back(1);
    out_.push_back(0);
    return;
  }
  const bool pad = (m[0] & 0x80) != 0;
  const std::size_t n = m.size() + (pad ? 1 : 0);
  // INTEGERs here are serials and nonces (at most a few dozen octets).
  if (n < 0x80) {
    out_.push_back(static_cast<std::uint8_t>(n));
  } else {
    out_.push_back(0x81);
    out_.push_back(static_cast<std::uint8_t>(n));
  }
  if (pad) out_.push_back(0);
  out_.insert(out_.end(), m.begin(), m.end());
}

void DerBuf::SmallInteger(std::int64_t v) { Raw(der::Integer(v)); }

void DerBuf::AlgorithmId(ByteView oid_content) {
  out_.push_back(der::kSequence);
  out_.push_back(static_cast<std::uint8_t>(oid_content.size() + 2));
  out_.push_back(der::kOid);
  out_.push_back(static_cast<std::uint8_t>(oid_content.size()));
  out_.insert(out_.end(), oid_content.begin(), oid_content.end());
}

Bytes OidContent(std::string_view dotted) {
  Bytes tlv = der::OidLiteral(dotted);
  return Bytes(tlv.begin() + 2, tlv.end());  // our literals are short: one length octet
}

Error CmsMalformed(std::string_view what, std::string_view message) {
  return Error(ErrorCode::kMalformedInput, std::string(what) + ": " + std::string(message));
}

Error CmsContext(std::string_view what, const Error& e) {
  return Error(e.code(), std::string(what) + ": " + e.message());
}

Result<std::string> ParseAlgorithmOid(const der::Element& alg, std::string_view what,
                                      bool allow_params) {
  if (alg.tag != der::kSequence) return CmsMalformed(what, "AlgorithmIdentifier not a SEQUENCE");
  der::Reader r(alg.content);
  auto o = r.Expect(der::kOid);
  if (!o) return CmsContext(what, o.error());
  auto text = der::OidToString(o->content);
  if (!text) return CmsContext(what, text.error());
  if (!r.empty()) {
    auto p = r.Next();
    if (!p) return CmsContext(what, p.error());
    if (!allow_params && !(p->tag == der::kNull && p->content.empty())) {
      return CmsMalformed(what, "unexpected algorithm parameters");
    }
    if (!r.empty()) return CmsMalformed(what, "trailing data in AlgorithmIdentifier");
  }
  return std::move(*text);
}

bool IsSm3DigestOid(std::string_view oid) {
  return oid == "1.2.156.10197.1.401" || oid == "1.2.156.10197.1.401.1" ||
         oid == "1.2.156.10197.1.401.2";
}

bool IsSm2SignatureOid(std::string_view oid) {
  return oid == kSm3WithSm2Oid || oid == oid::kSm2Sign;
}

Result<TimePoint> ParseGeneralizedTimeFraction(const der::Element& e, std::string_view what) {
  if (e.tag != der::kGeneralizedTime) return CmsMalformed(what, "not a GeneralizedTime");
  ByteView c = e.content;
  if (c.size() < 15 || c.back() != 'Z') return CmsMalformed(what, "not YYYYMMDDHHMMSS[.f]Z");
  std::int64_t nanos = 0;
  std::size_t end = c.size() - 1;  // index of 'Z'
  if (end > 14) {
    if (c[14] != '.') return CmsMalformed(what, "not YYYYMMDDHHMMSS[.f]Z");
    // X.690 section 11.7.3 / 11.7.4: at least one digit, no trailing zero.
    if (end == 15 || c[end - 1] == '0') return CmsMalformed(what, "bad fractional seconds");
    std::int64_t scale = 100000000;
    for (std::size_t j = 15; j < end; ++j) {
      if (c[j] < '0' || c[j] > '9') return CmsMalformed(what, "bad fractional seconds");
      if (scale > 0) {
        nanos += (c[j] - '0') * scale;
        scale /= 10;
      }
    }
  }
  int year = 0;
  for (int k = 0; k < 4; ++k) {
    const std::uint8_t d = c[static_cast<std::size_t>(k)];
    if (d < '0' || d > '9') return CmsMalformed(what, "not YYYYMMDDHHMMSS[.f]Z");
    year = year * 10 + (d - '0');
  }
  // TimePoint counts nanoseconds (years 1678..2261); these times are "now"-ish.
  if (year < 1950 || year > 2261) return CmsMalformed(what, "year out of range");
  Bytes plain(c.begin(), c.begin() + 14);
  plain.push_back('Z');
  der::Element p{der::kGeneralizedTime, plain, plain};
  auto t = der::ParseTime(p);
  if (!t) return CmsContext(what, t.error());
  return *t + std::chrono::nanoseconds(nanos);
}

}  // namespace internal

namespace {

using internal::CmsContext;
using internal::CmsMalformed;
using internal::DerBuf;

struct Oids {
  Bytes data = internal::OidContent(oid::kCmsData);
  Bytes signed_data = internal::OidContent(oid::kCmsSignedData);
  Bytes gm_data = internal::OidContent(oid::kGmData);
  Bytes gm_signed_data = internal::OidContent(oid::kGmSignedData);
  Bytes sm3 = internal::OidContent("1.2.156.10197.1.401");
  Bytes sm3_with_sm2 = internal::OidContent(kSm3WithSm2Oid);
  Bytes sm2_sign = internal::OidContent(oid::kSm2Sign);
  Bytes content_type = internal::OidContent(oid::kAttrContentType);
  Bytes message_digest = internal::OidContent(oid::kAttrMessageDigest);
  Bytes signing_time = internal::OidContent(oid::kAttrSigningTime);
};

const Oids& O() {
  static const Oids kOids;
  return kOids;
}

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "CMS SignedData: " + std::move(message));
}

bool IsReservedAttribute(std::string_view o) {
  return o == oid::kAttrContentType || o == oid::kAttrMessageDigest || o == oid::kAttrSigningTime;
}

// Attribute ::= SEQUENCE { attrType, attrValues SET OF AttributeValue }
Result<Bytes> EncodeAttribute(ByteView oid_content, const std::vector<Bytes>& values) {
  if (values.empty()) return Invalid("an attribute needs at least one value");
  DerBuf b(64);
  b.Open(der::kSequence);
  b.OidContent(oid_content);
  if (values.size() == 1) {
    b.Tlv(der::kSet, values[0]);
  } else {
    b.Raw(der::SetOf(values));
  }
  b.Close();
  return b.Take();
}

// The DER SET OF signed attributes (tag 0x31): RFC 5652 section 5.4, "the DER encoding of the
// SignedAttributes value" with the SET OF tag, which is what the signature covers.
Result<Bytes> EncodeSignedAttributes(const SignedDataSpec& spec, ByteView content_type_oid,
                                     const crypto::Sm3Digest& digest) {
  std::vector<Bytes> attrs;
  attrs.reserve(3 + spec.extra_signed_attributes.size());
  // RFC 5652 section 11.1: contentType; section 11.2: messageDigest.
  GMPKI_ASSIGN_OR_RETURN(Bytes ct, EncodeAttribute(O().content_type,
                                                   {der::Tlv(der::kOid, content_type_oid)}));
  attrs.push_back(std::move(ct));
  GMPKI_ASSIGN_OR_RETURN(Bytes md, EncodeAttribute(O().message_digest,
                                                   {der::OctetString(digest)}));
  attrs.push_back(std::move(md));
  if (spec.signing_time) {
    // RFC 5652 section 11.3: UTCTime through 2049, GeneralizedTime from 2050.
    GMPKI_ASSIGN_OR_RETURN(Bytes t, der::Time(*spec.signing_time));
    GMPKI_ASSIGN_OR_RETURN(Bytes st, EncodeAttribute(O().signing_time, {t}));
    attrs.push_back(std::move(st));
  }
  std::vector<std::string_view> seen;
  for (const CmsAttribute& a : spec.extra_signed_attributes) {
    if (IsReservedAttribute(a.oid)) return Invalid("attribute " + a.oid + " is set by the builder");
    if (std::find(seen.begin(), seen.end(), a.oid) != seen.end()) {
      return Invalid("duplicate attribute " + a.oid);
    }
    seen.push_back(a.oid);
    auto oid_tlv = der::Oid(a.oid);
    if (!oid_tlv) return Invalid("bad attribute OID " + a.oid);
    GMPKI_ASSIGN_OR_RETURN(Bytes enc,
                           EncodeAttribute(ByteView(*oid_tlv).subspan(2), a.values));
    attrs.push_back(std::move(enc));
  }
  return der::SetOf(std::move(attrs));
}

Result<std::vector<CmsAttribute>> ParseAttributes(ByteView content, std::string_view what) {
  std::vector<CmsAttribute> out;
  der::Reader r(content);
  while (!r.empty()) {
    auto a = r.Expect(der::kSequence);
    if (!a) return CmsContext(what, a.error());
    der::Reader ar(a->content);
    auto type = ar.Expect(der::kOid);
    if (!type) return CmsContext(what, type.error());
    auto values = ar.Expect(der::kSet);
    if (!values) return CmsContext(what, values.error());
    if (!ar.empty()) return CmsMalformed(what, "trailing data in Attribute");
    auto text = der::OidToString(type->content);
    if (!text) return CmsContext(what, text.error());
    CmsAttribute attr;
    attr.oid = std::move(*text);
    for (const CmsAttribute& prev : out) {
      if (prev.oid == attr.oid) return CmsMalformed(what, "duplicate attribute " + attr.oid);
    }
    der::Reader vr(values->content);
    while (!vr.empty()) {
      auto v = vr.Next();
      if (!v) return CmsContext(what, v.error());
      attr.values.emplace_back(v->whole.begin(), v->whole.end());
    }
    if (attr.values.empty()) return CmsMalformed(what, "attribute without values");
    out.push_back(std::move(attr));
  }
  return out;
}

Result<CmsSignerInfo> ParseSignerInfo(const der::Element& e) {
  constexpr std::string_view kWhat = "SignerInfo";
  if (e.tag != der::kSequence) return CmsMalformed(kWhat, "not a SEQUENCE");
  der::Reader r(e.content);
  CmsSignerInfo si;
  auto version = r.Expect(der::kInteger);
  if (!version) return CmsContext("SignerInfo.version", version.error());
  auto v = der::ParseSmallInteger(*version);
  if (!v) return CmsContext("SignerInfo.version", v.error());
  if (*v != 1 && *v != 3) return CmsMalformed("SignerInfo.version", "not 1 or 3");
  si.version = static_cast<int>(*v);
  auto sid = r.Next();
  if (!sid) return CmsContext("SignerInfo.sid", sid.error());
  if (sid->tag == der::kSequence) {
    // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
    der::Reader ir(sid->content);
    auto issuer = ir.Expect(der::kSequence);
    if (!issuer) return CmsContext("sid.issuer", issuer.error());
    auto serial = ir.Expect(der::kInteger);
    if (!serial) return CmsContext("sid.serialNumber", serial.error());
    if (!ir.empty()) return CmsMalformed("sid", "trailing data");
    auto mag = der::ParseUnsignedInteger(*serial);
    if (!mag) return CmsContext("sid.serialNumber", mag.error());
    si.issuer_der.assign(issuer->whole.begin(), issuer->whole.end());
    si.serial = std::move(*mag);
  } else if (sid->tag == der::ContextPrimitive(0)) {
    si.subject_key_id.assign(sid->content.begin(), sid->content.end());
    if (si.subject_key_id.empty()) return CmsMalformed("sid", "empty subjectKeyIdentifier");
  } else {
    return CmsMalformed("sid", "neither IssuerAndSerialNumber nor [0] subjectKeyIdentifier");
  }
  auto digest = r.Expect(der::kSequence);
  if (!digest) return CmsContext("digestAlgorithm", digest.error());
  GMPKI_ASSIGN_OR_RETURN(si.digest_oid, internal::ParseAlgorithmOid(*digest, "digestAlgorithm"));
  GMPKI_ASSIGN_OR_RETURN(auto attrs, r.Optional(der::ContextConstructed(0)));
  if (attrs) {
    si.has_signed_attributes = true;
    si.signed_attributes_der.assign(attrs->whole.begin(), attrs->whole.end());
    si.signed_attributes_der[0] = der::kSet;  // RFC 5652 section 5.4: signed as SET OF
    GMPKI_ASSIGN_OR_RETURN(si.signed_attributes, ParseAttributes(attrs->content, "signedAttrs"));
    if (si.signed_attributes.empty()) return CmsMalformed("signedAttrs", "empty SET");
  }
  auto sig_alg = r.Expect(der::kSequence);
  if (!sig_alg) return CmsContext("signatureAlgorithm", sig_alg.error());
  GMPKI_ASSIGN_OR_RETURN(si.signature_oid,
                         internal::ParseAlgorithmOid(*sig_alg, "signatureAlgorithm", true));
  auto sig = r.Expect(der::kOctetString);
  if (!sig) return CmsContext("signature", sig.error());
  si.signature.assign(sig->content.begin(), sig->content.end());
  GMPKI_ASSIGN_OR_RETURN(auto unsigned_attrs, r.Optional(der::ContextConstructed(1)));
  if (unsigned_attrs) {
    GMPKI_ASSIGN_OR_RETURN(si.unsigned_attributes,
                           ParseAttributes(unsigned_attrs->content, "unsignedAttrs"));
  }
  if (!r.empty()) return CmsMalformed(kWhat, "trailing data");
  return si;
}

Result<der::Element> Unwrap(const der::Element& e, std::string_view what) {
  auto inner = der::ParseSingle(e.content);
  if (!inner) return CmsContext(what, inner.error());
  return *inner;
}

}  // namespace

const CmsAttribute* CmsSignerInfo::FindSignedAttribute(std::string_view oid) const {
  for (const CmsAttribute& a : signed_attributes) {
    if (a.oid == oid) return &a;
  }
  return nullptr;
}

Result<Bytes> BuildSignedData(const SignedDataSpec& spec, const Signer& signer) {
  if (spec.signer_certificate == nullptr) return Invalid("no signer certificate");
  const Certificate& cert = *spec.signer_certificate;
  if (!(cert.public_key() == signer.public_key)) {
    return Invalid("the signer certificate's key is not the signer's key");
  }
  const bool gm = spec.flavor == CmsFlavor::kGmt0010;
  Bytes custom_type;
  ByteView content_type = gm ? ByteView(O().gm_data) : ByteView(O().data);
  bool is_data = true;
  if (!spec.content_type.empty() && spec.content_type != oid::kCmsData &&
      spec.content_type != oid::kGmData) {
    auto t = der::Oid(spec.content_type);
    if (!t) return Invalid("bad eContentType " + spec.content_type);
    // One length octet: DerBuf::OidContent and every OID in use are short.
    if (t->size() > 129) return Invalid("eContentType OID too long");
    custom_type.assign(t->begin() + 2, t->end());
    content_type = custom_type;
    is_data = false;
  }
  const crypto::Sm3Digest digest = crypto::Sm3(spec.content);
  Bytes attrs;
  Bytes signature;
  if (spec.signed_attributes) {
    GMPKI_ASSIGN_OR_RETURN(attrs, EncodeSignedAttributes(spec, content_type, digest));
    GMPKI_ASSIGN_OR_RETURN(signature, signer.sign(attrs));
  } else {
    if (spec.signing_time || !spec.extra_signed_attributes.empty()) {
      return Invalid("attributes requested without signed attributes");
    }
    GMPKI_ASSIGN_OR_RETURN(signature, signer.sign(spec.content));
  }

  DerBuf b(1024 + spec.content.size() + attrs.size() +
           (spec.certificates.size() * 800));
  b.Open(der::kSequence);  // ContentInfo
  b.OidContent(gm ? O().gm_signed_data : O().signed_data);
  b.Open(der::ContextConstructed(0));
  b.Open(der::kSequence);  // SignedData
  // RFC 5652 section 5.1: version 3 when eContentType is not id-data, else 1 (no v3 signer,
  // no attribute certificates here). GM/T 0010: always 1.
  b.SmallInteger(gm || is_data ? 1 : 3);
  b.Open(der::kSet);
  b.AlgorithmId(O().sm3);
  b.Close();
  b.Open(der::kSequence);  // EncapsulatedContentInfo
  b.OidContent(content_type);
  if (!spec.detached) {
    b.Open(der::ContextConstructed(0));
    b.Tlv(der::kOctetString, spec.content);
    b.Close();
  }
  b.Close();
  if (!spec.certificates.empty()) {
    b.Open(der::ContextConstructed(0));  // certificates [0] IMPLICIT CertificateSet
    // SET OF in DER is sorted (X.690 section 11.6); certificates are kept in the caller's
    // order as every CMS implementation does for chains, which parsers accept.
    for (const Certificate* c : spec.certificates) {
      if (c == nullptr) return Invalid("null certificate");
      b.Raw(c->der());
    }
    b.Close();
  }
  b.Open(der::kSet);       // signerInfos
  b.Open(der::kSequence);  // SignerInfo
  b.SmallInteger(1);       // sid = IssuerAndSerialNumber (RFC 5652 section 5.3)
  b.Open(der::kSequence);
  b.Raw(cert.issuer().der());
  b.UnsignedInteger(cert.serial());
  b.Close();
  b.AlgorithmId(O().sm3);
  if (spec.signed_attributes) {
    // signedAttrs [0] IMPLICIT: the SET's content under tag [0].
    b.Raw(der::Implicit(0, attrs));
  }
  b.AlgorithmId(spec.signature_oid == CmsSignatureOid::kSm2Sign ? O().sm2_sign
                                                                : O().sm3_with_sm2);
  b.Tlv(der::kOctetString, signature);
  b.Close();
  b.Close();
  b.Close();  // SignedData
  b.Close();  // [0]
  b.Close();  // ContentInfo
  return b.Take();
}

Result<SignedData> ParseSignedData(ByteView der) {
  if (der.size() > kMaxSignedDataSize) {
    return Error(ErrorCode::kTooLarge, "CMS SignedData larger than 16 MiB");
  }
  auto ci = der::ParseSingle(der);
  if (!ci) return CmsContext("ContentInfo", ci.error());
  if (ci->tag != der::kSequence) return CmsMalformed("ContentInfo", "not a SEQUENCE");
  der::Reader r(ci->content);
  auto type = r.Expect(der::kOid);
  if (!type) return CmsContext("ContentInfo.contentType", type.error());
  SignedData sd;
  GMPKI_ASSIGN_OR_RETURN(sd.outer_content_type, der::OidToString(type->content));
  if (sd.outer_content_type != oid::kCmsSignedData &&
      sd.outer_content_type != oid::kGmSignedData) {
    return Error(ErrorCode::kUnsupported,
                 "ContentInfo type " + sd.outer_content_type + " is not signedData");
  }
  auto wrapped = r.Expect(der::ContextConstructed(0));
  if (!wrapped) return CmsContext("ContentInfo.content", wrapped.error());
  if (!r.empty()) return CmsMalformed("ContentInfo", "trailing data");
  GMPKI_ASSIGN_OR_RETURN(der::Element body, Unwrap(*wrapped, "ContentInfo.content"));
  if (body.tag != der::kSequence) return CmsMalformed("SignedData", "not a SEQUENCE");
  der::Reader s(body.content);
  auto version = s.Expect(der::kInteger);
  if (!version) return CmsContext("SignedData.version", version.error());
  auto v = der::ParseSmallInteger(*version);
  if (!v) return CmsContext("SignedData.version", v.error());
  if (*v < 0 || *v > 5) return CmsMalformed("SignedData.version", "out of range");
  sd.version = static_cast<int>(*v);
  auto algs = s.Expect(der::kSet);
  if (!algs) return CmsContext("digestAlgorithms", algs.error());
  der::Reader ar(algs->content);
  while (!ar.empty()) {
    auto a = ar.Next();
    if (!a) return CmsContext("digestAlgorithms", a.error());
    GMPKI_ASSIGN_OR_RETURN(std::string o, internal::ParseAlgorithmOid(*a, "digestAlgorithms"));
    sd.digest_oids.push_back(std::move(o));
  }
  auto encap = s.Expect(der::kSequence);
  if (!encap) return CmsContext("encapContentInfo", encap.error());
  der::Reader er(encap->content);
  auto etype = er.Expect(der::kOid);
  if (!etype) return CmsContext("eContentType", etype.error());
  GMPKI_ASSIGN_OR_RETURN(sd.content_type, der::OidToString(etype->content));
  GMPKI_ASSIGN_OR_RETURN(auto econtent, er.Optional(der::ContextConstructed(0)));
  if (!er.empty()) return CmsMalformed("encapContentInfo", "trailing data");
  if (econtent) {
    GMPKI_ASSIGN_OR_RETURN(der::Element inner, Unwrap(*econtent, "eContent"));
    // RFC 5652: an OCTET STRING. PKCS#7 v1.5 / GM/T 0010 content [0] EXPLICIT ANY: any type,
    // whose digest covers the contents octets only (RFC 2315 section 9.3). Either way the
    // value octets are the content.
    sd.content = Bytes(inner.content.begin(), inner.content.end());
    sd.content_tag = inner.tag;
  }
  GMPKI_ASSIGN_OR_RETURN(auto certs, s.Optional(der::ContextConstructed(0)));
  if (certs) {
    der::Reader cr(certs->content);
    while (!cr.empty()) {
      auto c = cr.Next();
      if (!c) return CmsContext("certificates", c.error());
      // CertificateChoices: only the plain Certificate (a SEQUENCE) is kept.
      if (c->tag == der::kSequence) sd.certificates.emplace_back(c->whole.begin(), c->whole.end());
    }
  }
  GMPKI_ASSIGN_OR_RETURN(auto crls, s.Optional(der::ContextConstructed(1)));
  (void)crls;  // RevocationInfoChoices are not used by gmpki's verifiers
  auto infos = s.Expect(der::kSet);
  if (!infos) return CmsContext("signerInfos", infos.error());
  if (!s.empty()) return CmsMalformed("SignedData", "trailing data");
  der::Reader ir(infos->content);
  while (!ir.empty()) {
    auto one = ir.Next();
    if (!one) return CmsContext("signerInfos", one.error());
    GMPKI_ASSIGN_OR_RETURN(CmsSignerInfo si, ParseSignerInfo(*one));
    sd.signers.push_back(std::move(si));
  }
  return sd;
}

bool SignerIdMatches(const CmsSignerInfo& si, const Certificate& cert) {
  if (!si.subject_key_id.empty()) {
    return cert.subject_key_id() && *cert.subject_key_id() == si.subject_key_id;
  }
  ByteView a(si.serial), b(cert.serial());
  while (a.size() > 1 && a[0] == 0) a = a.subspan(1);
  while (b.size() > 1 && b[0] == 0) b = b.subspan(1);
  return si.issuer_der == cert.issuer().der() && std::equal(a.begin(), a.end(), b.begin(), b.end());
}

Result<CmsVerified> VerifySignedData(const SignedData& sd, const CmsVerifyOptions& options) {
  ByteView content;
  if (sd.content && options.detached_content) {
    if (!std::equal(sd.content->begin(), sd.content->end(), options.detached_content->begin(),
                    options.detached_content->end())) {
      return Invalid("detached content differs from the encapsulated content");
    }
    content = *sd.content;
  } else if (sd.content) {
    content = *sd.content;
  } else if (options.detached_content) {
    content = *options.detached_content;
  } else {
    return Invalid("detached SignedData and no content supplied");
  }
  if (sd.signers.empty()) return Error(ErrorCode::kBadSignature, "SignedData has no signers");
  std::optional<CmsVerified> first;
  for (std::size_t i = 0; i < sd.signers.size(); ++i) {
    const CmsSignerInfo& si = sd.signers[i];
    if (!internal::IsSm3DigestOid(si.digest_oid)) {
      return Error(ErrorCode::kUnsupported, "digestAlgorithm " + si.digest_oid + " is not SM3");
    }
    if (!internal::IsSm2SignatureOid(si.signature_oid)) {
      return Error(ErrorCode::kUnsupported,
                   "signatureAlgorithm " + si.signature_oid + " is not SM2 (501 / 301.1)");
    }
    std::optional<Certificate> cert;
    for (const Bytes& der : sd.certificates) {
      auto c = Certificate::FromDer(der);
      if (c && SignerIdMatches(si, *c)) {
        cert = std::move(*c);
        break;
      }
    }
    if (!cert && options.signer_certificate && SignerIdMatches(si, *options.signer_certificate)) {
      cert = *options.signer_certificate;
    }
    if (!cert) return Error(ErrorCode::kNotFound, "no certificate matches the signer's sid");
    ByteView signed_bytes = content;
    if (si.has_signed_attributes) {
      // RFC 5652 section 5.3: with signed attributes, contentType and messageDigest MUST be
      // present; section 11.1: contentType equals eContentType.
      const CmsAttribute* ct = si.FindSignedAttribute(oid::kAttrContentType);
      const CmsAttribute* md = si.FindSignedAttribute(oid::kAttrMessageDigest);
      if (ct == nullptr || md == nullptr || ct->values.size() != 1 || md->values.size() != 1) {
        return CmsMalformed("signedAttrs", "contentType and messageDigest must be present once");
      }
      auto cte = der::ParseSingle(ct->values[0]);
      if (!cte || cte->tag != der::kOid) return CmsMalformed("contentType", "not an OID");
      auto ct_text = der::OidToString(cte->content);
      if (!ct_text || *ct_text != sd.content_type) {
        return Error(ErrorCode::kBadSignature, "contentType attribute differs from eContentType");
      }
      auto mde = der::ParseSingle(md->values[0]);
      if (!mde || mde->tag != der::kOctetString) {
        return CmsMalformed("messageDigest", "not an OCTET STRING");
      }
      const crypto::Sm3Digest d = crypto::Sm3(content);
      if (!std::equal(d.begin(), d.end(), mde->content.begin(), mde->content.end())) {
        return Error(ErrorCode::kBadSignature, "messageDigest does not match the content");
      }
      signed_bytes = si.signed_attributes_der;
    }
    auto st = VerifySm2Signature(cert->public_key(), signed_bytes, si.signature);
    if (!st) return Error(ErrorCode::kBadSignature, "SignerInfo signature does not verify");
    if (!first) first = CmsVerified{std::move(*cert), i};
  }
  return std::move(*first);
}

}  // namespace gmpki::x509
