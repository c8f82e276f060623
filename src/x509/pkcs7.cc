#include "x509/pkcs7.h"

#include "x509/der.h"
#include "x509/pem.h"

namespace gmpki::x509 {
namespace {
constexpr std::string_view kSignedData = "1.2.840.113549.1.7.2";  // RFC 2315 section 14
constexpr std::string_view kData = "1.2.840.113549.1.7.1";
constexpr std::size_t kMaxPkcs7Size = 4 * 1024 * 1024;

Error Bad(std::string what) { return Error(ErrorCode::kMalformedInput, "PKCS#7: " + what); }
}  // namespace

Result<Bytes> BuildCertsOnlyPkcs7(const std::vector<Certificate>& certs) {
  if (certs.empty()) return Error(ErrorCode::kInvalidArgument, "no certificates");
  Bytes cert_content;
  for (const auto& c : certs) {
    cert_content.insert(cert_content.end(), c.der().begin(), c.der().end());
  }
  // RFC 2315 section 9.1: "certificates [0] IMPLICIT ExtendedCertificatesAndCertificates".
  // Kept in chain order, as OpenSSL and most encoders do, so the order means leaf -> root.
  Bytes signed_data = der::Sequence({
      der::Integer(1),
      der::Tlv(der::kSet, {}),                      // digestAlgorithms: none
      der::Sequence({der::OidLiteral(kData)}),      // contentInfo: data, content absent
      der::Tlv(der::ContextConstructed(0), cert_content),
      der::Tlv(der::kSet, {}),                      // signerInfos: none
  });
  return der::Sequence({der::OidLiteral(kSignedData), der::Explicit(0, signed_data)});
}

Result<std::string> BuildCertsOnlyPkcs7Pem(const std::vector<Certificate>& certs) {
  GMPKI_ASSIGN_OR_RETURN(Bytes der, BuildCertsOnlyPkcs7(certs));
  return PemEncode(kPemPkcs7, der);
}

Result<std::vector<Certificate>> ParsePkcs7Certificates(ByteView data) {
  Bytes decoded;
  if (LooksLikePem(data)) {
    GMPKI_ASSIGN_OR_RETURN(decoded, PemDecode(ToString(data), kPemPkcs7));
    data = decoded;
  }
  if (data.size() > kMaxPkcs7Size) return Error(ErrorCode::kTooLarge, "PKCS#7 larger than 4 MiB");
  GMPKI_ASSIGN_OR_RETURN(der::Element ci, der::ParseSingle(data));
  if (ci.tag != der::kSequence) return Bad("ContentInfo is not a SEQUENCE");
  der::Reader r(ci.content);
  GMPKI_ASSIGN_OR_RETURN(der::Element type, r.Expect(der::kOid));
  GMPKI_ASSIGN_OR_RETURN(std::string type_oid, der::OidToString(type.content));
  if (type_oid != kSignedData) return Error(ErrorCode::kUnsupported, "not SignedData: " + type_oid);
  GMPKI_ASSIGN_OR_RETURN(der::Element wrapped, r.Expect(der::ContextConstructed(0)));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  GMPKI_ASSIGN_OR_RETURN(der::Element sd, der::ParseSingle(wrapped.content));
  if (sd.tag != der::kSequence) return Bad("SignedData is not a SEQUENCE");
  der::Reader s(sd.content);
  GMPKI_RETURN_IF_ERROR(s.Expect(der::kInteger));
  GMPKI_RETURN_IF_ERROR(s.Expect(der::kSet));
  GMPKI_RETURN_IF_ERROR(s.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(auto certs, s.Optional(der::ContextConstructed(0)));
  std::vector<Certificate> out;
  if (!certs) return out;
  der::Reader cr(certs->content);
  while (!cr.empty()) {
    GMPKI_ASSIGN_OR_RETURN(der::Element c, cr.Expect(der::kSequence));
    GMPKI_ASSIGN_OR_RETURN(Certificate cert, Certificate::FromDer(c.whole));
    out.push_back(std::move(cert));
  }
  return out;
}

}  // namespace gmpki::x509
