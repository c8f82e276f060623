#include "x509/certificate.h"

#include <openssl/x509.h>

#include "crypto/random.h"
#include "x509/der.h"
#include "x509/pem.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

Error Bad(std::string what) { return Error(ErrorCode::kMalformedInput, "certificate: " + what); }

Status CheckSerial(ByteView serial) {
  std::size_t i = 0;
  while (i < serial.size() && serial[i] == 0) ++i;
  std::size_t len = serial.size() - i;
  // DER adds a 0x00 when the top bit is set; the encoded INTEGER must fit 20 octets.
  if (len > 0 && (serial[i] & 0x80)) ++len;
  if (len == 0) return Error(ErrorCode::kInvalidArgument, "serial number must be positive");
  if (len > 20) return Error(ErrorCode::kInvalidArgument, "serial number longer than 20 octets");
  return OkStatus();
}

// OpenSSL must also accept what we accept: VerifyChain hands these bytes to X509_verify_cert.
Status OpenSslAccepts(ByteView der) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  bool ok = x != nullptr && p == der.data() + der.size();
  X509_free(x);
  if (!ok) return Bad("rejected by the OpenSSL X.509 parser");
  return OkStatus();
}

}  // namespace

Result<Bytes> GenerateSerial() {
  GMPKI_ASSIGN_OR_RETURN(Bytes b, crypto::RandomBytes(16));
  b[0] = static_cast<std::uint8_t>((b[0] & 0x7f) | 0x40);  // positive, exactly 16 octets
  return b;
}

Result<Bytes> BuildTbsCertificate(const TbsSpec& spec) {
  GMPKI_RETURN_IF_ERROR(CheckSerial(spec.serial));
  if (spec.not_after <= spec.not_before) {
    return Error(ErrorCode::kInvalidArgument, "notAfter must be after notBefore");
  }
  if (spec.subject.empty()) {
    // RFC 5280 section 4.1.2.6 / GM/T 0015: an empty subject needs a critical subjectAltName.
    const Extension* san = FindExtension(spec.extensions, oid::kSubjectAltName);
    if (!san || !san->critical) {
      return Error(ErrorCode::kInvalidArgument,
                   "empty subject requires a critical subjectAltName");
    }
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes nb, der::Time(spec.not_before));
  GMPKI_ASSIGN_OR_RETURN(Bytes na, der::Time(spec.not_after));
  std::vector<Bytes> tbs{
      der::Explicit(0, der::Integer(2)),  // v3
      der::IntegerFromUnsigned(spec.serial),
      Sm3WithSm2AlgorithmId(),
      spec.issuer.der(),
      der::Sequence({nb, na}),
      spec.subject.der(),
      internal::Sm2Spki(spec.subject_public_key),
  };
  if (!spec.extensions.empty()) {
    GMPKI_ASSIGN_OR_RETURN(Bytes exts, EncodeExtensions(spec.extensions));
    tbs.push_back(der::Explicit(3, exts));
  }
  return der::Sequence(tbs);
}

Result<Bytes> IssueCertificate(const TbsSpec& spec, const Signer& issuer) {
  GMPKI_ASSIGN_OR_RETURN(Bytes tbs, BuildTbsCertificate(spec));
  return SignAndWrap(tbs, issuer);
}

Result<Certificate> Certificate::FromDer(ByteView bytes) {
  if (bytes.size() > kMaxObjectSize) {
    return Error(ErrorCode::kTooLarge, "certificate larger than 64 KiB");
  }
  GMPKI_ASSIGN_OR_RETURN(internal::SignedParts parts, internal::SplitSigned(bytes, "certificate"));
  Certificate c;
  c.der_.assign(bytes.begin(), bytes.end());
  c.tbs_offset_ = static_cast<std::size_t>(parts.tbs.whole.data() - bytes.data());
  c.tbs_size_ = parts.tbs.whole.size();
  c.signature_ = std::move(parts.signature);

  der::Reader r(parts.tbs.content);
  GMPKI_ASSIGN_OR_RETURN(auto ver, r.Optional(der::ContextConstructed(0)));
  if (ver) {
    GMPKI_ASSIGN_OR_RETURN(der::Element v, der::ParseSingle(ver->content));
    GMPKI_ASSIGN_OR_RETURN(std::int64_t n, der::ParseSmallInteger(v));
    if (n < 0 || n > 2) return Bad("unknown version");
    c.version_ = static_cast<int>(n) + 1;
  }
  GMPKI_ASSIGN_OR_RETURN(der::Element serial, r.Expect(der::kInteger));
  GMPKI_ASSIGN_OR_RETURN(c.serial_, der::ParseUnsignedInteger(serial));
  GMPKI_ASSIGN_OR_RETURN(der::Element inner_alg, r.Expect(der::kSequence));
  // RFC 5280 section 4.1.1.2: signatureAlgorithm "MUST contain the same algorithm identifier
  // as the signature field in the sequence tbsCertificate".
  if (!std::equal(inner_alg.whole.begin(), inner_alg.whole.end(), parts.algorithm.whole.begin(),
                  parts.algorithm.whole.end())) {
    return Bad("signatureAlgorithm differs from tbsCertificate.signature");
  }
  GMPKI_ASSIGN_OR_RETURN(der::Element issuer, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.issuer_, Name::FromDer(issuer.whole));
  GMPKI_ASSIGN_OR_RETURN(der::Element validity, r.Expect(der::kSequence));
  {
    der::Reader vr(validity.content);
    GMPKI_ASSIGN_OR_RETURN(der::Element nb, vr.Next());
    GMPKI_ASSIGN_OR_RETURN(der::Element na, vr.Next());
    GMPKI_RETURN_IF_ERROR(vr.ExpectEnd());
    GMPKI_ASSIGN_OR_RETURN(c.not_before_, der::ParseTime(nb));
    GMPKI_ASSIGN_OR_RETURN(c.not_after_, der::ParseTime(na));
  }
  GMPKI_ASSIGN_OR_RETURN(der::Element subject, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.subject_, Name::FromDer(subject.whole));
  GMPKI_ASSIGN_OR_RETURN(der::Element spki, r.Expect(der::kSequence));
  GMPKI_ASSIGN_OR_RETURN(c.public_key_, internal::ParseSm2Spki(spki));
  GMPKI_RETURN_IF_ERROR(r.Optional(der::ContextPrimitive(1)));  // issuerUniqueID
  GMPKI_RETURN_IF_ERROR(r.Optional(der::ContextPrimitive(2)));  // subjectUniqueID
  GMPKI_ASSIGN_OR_RETURN(auto exts, r.Optional(der::ContextConstructed(3)));
  GMPKI_RETURN_IF_ERROR(r.ExpectEnd());
  if (exts) {
    if (c.version_ != 3) return Bad("extensions in a certificate that is not v3");
    GMPKI_ASSIGN_OR_RETURN(c.extensions_, ParseExtensions(exts->content));
  }
  if (const Extension* e = c.FindExtension(oid::kBasicConstraints)) {
    GMPKI_ASSIGN_OR_RETURN(BasicConstraintsValue bc, ParseBasicConstraints(e->value));
    c.is_ca_ = bc.ca;
    c.path_len_ = bc.path_len;
  }
  if (const Extension* e = c.FindExtension(oid::kKeyUsage)) {
    GMPKI_ASSIGN_OR_RETURN(std::uint16_t ku, ParseKeyUsage(e->value));
    c.key_usage_ = ku;
  }
  if (const Extension* e = c.FindExtension(oid::kExtKeyUsage)) {
    GMPKI_ASSIGN_OR_RETURN(c.ext_key_usage_, ParseExtKeyUsage(e->value));
  }
  if (const Extension* e = c.FindExtension(oid::kSubjectKeyIdentifier)) {
    GMPKI_ASSIGN_OR_RETURN(Bytes ski, ParseSubjectKeyIdentifier(e->value));
    c.subject_key_id_ = std::move(ski);
  }
  if (const Extension* e = c.FindExtension(oid::kAuthorityKeyIdentifier)) {
    GMPKI_ASSIGN_OR_RETURN(Bytes aki, ParseAuthorityKeyIdentifier(e->value));
    if (!aki.empty()) c.authority_key_id_ = std::move(aki);
  }
  GMPKI_RETURN_IF_ERROR(OpenSslAccepts(bytes));
  return c;
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  GMPKI_ASSIGN_OR_RETURN(Bytes der, PemDecode(pem, kPemCertificate));
  return FromDer(der);
}

Result<Certificate> Certificate::Parse(ByteView data) {
  if (LooksLikePem(data)) return FromPem(ToString(data));
  return FromDer(data);
}

std::string Certificate::serial_hex() const { return internal::SerialHex(serial_); }

const Extension* Certificate::FindExtension(std::string_view oid) const {
  return x509::FindExtension(extensions_, oid);
}

crypto::Sm3Digest Certificate::fingerprint() const { return crypto::Sm3(der_); }

std::string Certificate::fingerprint_hex() const {
  crypto::Sm3Digest d = fingerprint();
  return HexEncode(d);
}

std::string Certificate::ToPem() const { return PemEncode(kPemCertificate, der_); }

Result<std::vector<Certificate>> ParseCertificatesPem(std::string_view pem) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<Bytes> ders, PemDecodeAll(pem, kPemCertificate));
  std::vector<Certificate> out;
  for (const auto& d : ders) {
    GMPKI_ASSIGN_OR_RETURN(Certificate c, Certificate::FromDer(d));
    out.push_back(std::move(c));
  }
  return out;
}

std::string CertificatesToPem(const std::vector<Certificate>& certs) {
  std::string out;
  for (const auto& c : certs) out += c.ToPem();
  return out;
}

Status VerifyCertificateSignature(const Certificate& cert, const crypto::Sm2PublicKey& issuer_key) {
  Status s = VerifySm2Signature(issuer_key, cert.tbs_der(), cert.signature());
  if (!s.ok()) {
    return Error(ErrorCode::kBadSignature, "certificate " + cert.serial_hex() + " (" +
                                               cert.subject().ToString() +
                                               "): signature does not verify");
  }
  return s;
}

}  // namespace gmpki::x509
