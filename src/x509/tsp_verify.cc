// RFC 3161 token verification: CMS signature, ESS signing-certificate binding (RFC 5035 /
// RFC 5816), the TSA certificate's extended key usage, imprint, nonce and policy.
#include <algorithm>

#include "x509/cms_signed_internal.h"
#include "x509/der.h"
#include "x509/ocsp.h"
#include "x509/ocsp_internal.h"
#include "x509/tsp.h"

namespace gmpki::x509 {
namespace {

using internal::CmsMalformed;

// RFC 2634 section 5.4: id-aa-signingCertificate (ESSCertID, SHA-1).
constexpr std::string_view kAttrSigningCertificate = "1.2.840.113549.1.9.16.2.12";

Error Binding(std::string message) {
  return Error(ErrorCode::kBadSignature, "timestamp token: " + std::move(message));
}

Error Mismatch(std::string message) {
  return Error(ErrorCode::kPolicyViolation, "timestamp token: " + std::move(message));
}

// Checks the first ESSCertID(v2) against the certificate: RFC 5035 section 5.4 ("the first
// certificate identified ... MUST be the certificate used to verify the signature").
Status CheckEssBinding(const CmsSignerInfo& si, const Certificate& cert) {
  const CmsAttribute* v2 = si.FindSignedAttribute(oid::kAttrSigningCertificateV2);
  const CmsAttribute* v1 = si.FindSignedAttribute(kAttrSigningCertificate);
  // RFC 3161 section 2.4.2 / RFC 5816 section 2.2.1: one of the two MUST be present.
  if (v2 == nullptr && v1 == nullptr) return Binding("no signingCertificate(V2) attribute");
  const CmsAttribute* a = v2 != nullptr ? v2 : v1;
  if (a->values.size() != 1) return Binding("signingCertificate with several values");
  auto sc = der::ParseSingle(a->values[0]);
  if (!sc || sc->tag != der::kSequence) return CmsMalformed("signingCertificate", "not SEQUENCE");
  der::Reader r(sc->content);
  auto certs = r.Expect(der::kSequence);
  if (!certs) return CmsMalformed("signingCertificate", "no certs");
  der::Reader cr(certs->content);
  auto first = cr.Expect(der::kSequence);
  if (!first) return CmsMalformed("signingCertificate", "empty certs");
  der::Reader er(first->content);
  std::string hash_oid = v2 != nullptr ? std::string(oid::kSha256) : std::string(oid::kSha1);
  if (v2 != nullptr) {
    GMPKI_ASSIGN_OR_RETURN(auto alg, er.Optional(der::kSequence));
    if (alg) {
      GMPKI_ASSIGN_OR_RETURN(hash_oid, internal::ParseAlgorithmOid(*alg, "ESSCertIDv2"));
    }
  }
  auto hash = er.Expect(der::kOctetString);
  if (!hash) return CmsMalformed("ESSCertID", "no certHash");
  auto want = internal::OcspHash(hash_oid, cert.der());
  if (!want) return Error(ErrorCode::kUnsupported, "ESSCertID hash " + hash_oid + " unsupported");
  if (!std::equal(want->begin(), want->end(), hash->content.begin(), hash->content.end())) {
    return Binding("signingCertificate hash does not match the TSA certificate");
  }
  GMPKI_ASSIGN_OR_RETURN(auto issuer_serial, er.Optional(der::kSequence));
  if (issuer_serial) {
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
    der::Reader ir(issuer_serial->content);
    auto names = ir.Expect(der::kSequence);
    auto serial = ir.Expect(der::kInteger);
    if (!names || !serial) return CmsMalformed("IssuerSerial", "bad shape");
    auto mag = der::ParseUnsignedInteger(*serial);
    if (!mag) return CmsMalformed("IssuerSerial", "bad serial");
    bool issuer_found = false;
    der::Reader nr(names->content);
    while (!nr.empty()) {
      auto gn = nr.Next();
      if (!gn) return CmsMalformed("IssuerSerial", "bad GeneralNames");
      if (gn->tag == der::ContextConstructed(4)) {
        issuer_found |= std::equal(gn->content.begin(), gn->content.end(),
                                   cert.issuer().der().begin(), cert.issuer().der().end());
      }
    }
    ByteView s(cert.serial());
    while (s.size() > 1 && s[0] == 0) s = s.subspan(1);
    if (!issuer_found || !std::equal(mag->begin(), mag->end(), s.begin(), s.end())) {
      return Binding("signingCertificate issuerSerial does not name the TSA certificate");
    }
  }
  return OkStatus();
}

}  // namespace

Result<VerifiedToken> VerifyTimeStampToken(ByteView token, const TokenCheck& check) {
  const int imprint_inputs = (check.data ? 1 : 0) + (check.hashed_message ? 1 : 0);
  if (imprint_inputs != 1 || (check.hashed_message && !check.hash_oid)) {
    return Error(ErrorCode::kInvalidArgument,
                 "timestamp check needs either the data or the hash algorithm and hash");
  }
  GMPKI_ASSIGN_OR_RETURN(SignedData sd, ParseSignedData(token));
  if (sd.content_type != oid::kTstInfo) {
    return CmsMalformed("timestamp token", "eContentType is not id-ct-TSTInfo");
  }
  if (!sd.content) return CmsMalformed("timestamp token", "no encapsulated TSTInfo");
  // RFC 3161 section 2.4.2: "MUST NOT contain any signatures other than the signature of the
  // TSA".
  if (sd.signers.size() != 1) return CmsMalformed("timestamp token", "not exactly one signer");
  CmsVerifyOptions opts;
  opts.signer_certificate = check.tsa_certificate;
  GMPKI_ASSIGN_OR_RETURN(CmsVerified verified, VerifySignedData(sd, opts));
  const Bytes tst_der = sd.content_tag == der::kOctetString
                            ? *sd.content
                            : der::Tlv(sd.content_tag, *sd.content);
  GMPKI_ASSIGN_OR_RETURN(TstInfo info, ParseTstInfo(tst_der));
  GMPKI_RETURN_IF_ERROR(CheckEssBinding(sd.signers[0], verified.signer));

  // RFC 3161 section 2.3: "The corresponding certificate MUST contain only one instance of the
  // extended key usage field extension ... with KeyPurposeID having value id-kp-timeStamping.
  // This extension MUST be critical."
  const Certificate& cert = verified.signer;
  const Extension* eku = cert.FindExtension(oid::kExtKeyUsage);
  if (eku == nullptr || !eku->critical || cert.ext_key_usage().size() != 1 ||
      cert.ext_key_usage()[0] != oid::kKpTimeStamping) {
    return Mismatch("the TSA certificate's extendedKeyUsage is not critical id-kp-timeStamping");
  }
  if (check.data) {
    auto h = internal::OcspHash(info.hash_oid, *check.data);
    if (!h) return Error(ErrorCode::kUnsupported, "imprint hash " + info.hash_oid + " unknown");
    if (*h != info.hashed_message) return Mismatch("messageImprint does not match the data");
  } else {
    if (*check.hash_oid != info.hash_oid ||
        !std::equal(check.hashed_message->begin(), check.hashed_message->end(),
                    info.hashed_message.begin(), info.hashed_message.end())) {
      return Mismatch("messageImprint does not match the hash");
    }
  }
  if (check.nonce) {
    if (!info.nonce || !std::equal(check.nonce->begin(), check.nonce->end(),
                                   info.nonce->begin(), info.nonce->end())) {
      return Mismatch("nonce not echoed");
    }
  }
  if (check.policy && *check.policy != info.policy) {
    return Mismatch("policy " + info.policy + " is not the required " + *check.policy);
  }
  return VerifiedToken{std::move(info), cert};
}

}  // namespace gmpki::x509
