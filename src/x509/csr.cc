#include "x509/csr.h"

#include "x509/der.h"
#include "x509/pem.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

// PKCS#9 extensionRequest (RFC 2985 section 5.4.2).
constexpr std::string_view kExtensionRequest = "1.2.840.113549.1.9.14";

Error Bad(std::string what) { return Error(ErrorCode::kMalformedInput, "CSR: " + what); }

}  // namespace

Result<CertificateRequest> CertificateRequest::FromDer(ByteView bytes) {
  if (bytes.size() > kMaxCsrSize) return Error(ErrorCode::kTooLarge, "CSR larger than 64 KiB");
  GMPKI_ASSIGN_OR_RETURN(internal::SignedParts parts, internal::SplitSigned(bytes, "CSR"));
  CertificateRequest c;
  c.der_.assign(bytes.begin(), bytes.end());
  c.info_offset_ = static_cast<std::size_t>(parts.tbs.whole.data() - bytes.data());
  c.info_size_ = parts.tbs.whole.size();
  c.signature_ = std::move(parts.signature);

  der::Reader r(parts.tbs.content);
  GMPKI_ASSIGN_OR_RETURN(der::Element ver, r.Expect(der::kInteger));
  GMPKI_ASSIGN_OR_RETURN(std::int64_t v, der::ParseSmallInteger(ver));
  if (v != 0) return Bad("version must be 0 (v1)");  // RFC 2986 section 4.1
  GMPKI_ASSIGN_OR_RETURN(der::Element subject, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.subject_, Name::FromDer(subject.whole));
  GMPKI_ASSIGN_OR_RETURN(der::Element spki, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.public_key_, internal::ParseSm2Spki(spki));
  // attributes [0] IMPLICIT SET OF Attribute; required by RFC 2986, but some encoders omit an
  // empty set, so it is accepted as absent.
  GMPKI_ASSIGN_OR_RETURN(auto attrs, r.Optional(der::ContextConstructed(0)));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  if (attrs) {
    der::Reader ar(attrs->content);
    while (!ar.empty()) {
      GMPKI_ASSIGN_OR_RETURN(der::Element attr, ar.Expect(der::kSequence));
      der::Reader a(attr.content);
      GMPKI_ASSIGN_OR_RETURN(der::Element type, a.Expect(der::kOid));
      GMPKI_ASSIGN_OR_RETURN(der::Element values, a.Expect(der::kSet));
      GMPKI_RETURN_IF_ERROR(a.ExpectEnd());
      GMPKI_ASSIGN_OR_RETURN(std::string oid, der::OidToString(type.content));
      if (oid != kExtensionRequest) continue;  // e.g. challengePassword: not used
      if (!c.requested_extensions_.empty()) return Bad("two extensionRequest attributes");
      GMPKI_ASSIGN_OR_RETURN(der::Element exts, der::ParseSingle(values.content));
      GMPKI_ASSIGN_OR_RETURN(c.requested_extensions_, ParseExtensions(exts.whole));
    }
  }
  return c;
}

Result<CertificateRequest> CertificateRequest::FromPem(std::string_view pem) {
  if (pem.size() > kMaxCsrSize * 2) return Error(ErrorCode::kTooLarge, "CSR PEM too large");
  // OpenSSL writes "CERTIFICATE REQUEST"; some tools write "NEW CERTIFICATE REQUEST".
  auto der = PemDecode(pem, kPemCsr);
  if (!der) der = PemDecode(pem, "NEW CERTIFICATE REQUEST");
  if (!der) return der.error();
  return FromDer(*der);
}

Result<CertificateRequest> CertificateRequest::Parse(ByteView data) {
  if (LooksLikePem(data)) return FromPem(ToString(data));
  return FromDer(data);
}

Status CertificateRequest::VerifyProofOfPossession() const {
  // The signature covers CertificationRequestInfo exactly as received (RFC 2986 section 3),
  // with the GM/T 0009 ID in Z.
  Status s = VerifySm2Signature(public_key_, info_der(), signature_);
  if (!s.ok()) {
    return Error(ErrorCode::kBadSignature,
                 "CSR signature does not verify with SM2 ID 1234567812345678 (a CSR signed "
                 "with OpenSSL 3.0 needs -sigopt distid:1234567812345678)");
  }
  return s;
}

Result<Bytes> BuildCsr(const Name& subject, const Signer& signer,
                       const std::vector<Extension>& requested_extensions) {
  Bytes attrs_content;
  if (!requested_extensions.empty()) {
    GMPKI_ASSIGN_OR_RETURN(Bytes exts, EncodeExtensions(requested_extensions));
    attrs_content = der::Sequence({der::OidLiteral(kExtensionRequest), der::SetOf({exts})});
  }
  Bytes info = der::Sequence({der::Integer(0), subject.der(),
                              internal::Sm2Spki(signer.public_key),
                              der::Tlv(der::ContextConstructed(0), attrs_content)});
  return SignAndWrap(info, signer);
}

}  // namespace gmpki::x509
