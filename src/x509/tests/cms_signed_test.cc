// CMS SignedData (RFC 5652 section 5, GM/T 0010 OIDs): round trips, detached content, both
// OID flavors and both SM2 signature OIDs, tampering, missing certificates, truncation, and
// OpenSSL's CMS parser reading our encoding.
#include <gtest/gtest.h>

#include <algorithm>

#include "x509/cms_signed.h"
#include "x509/der.h"
#include "x509/tests/tsp_test_util.h"

namespace gmpki::x509 {
namespace {

using testing::Must;
using testing::TsaPki;

SignedDataSpec Spec(const TsaPki& pki, ByteView content) {
  SignedDataSpec s;
  s.content = content;
  s.signer_certificate = &pki.tsa;
  s.certificates = {&pki.tsa};
  return s;
}

// req: AS-05
TEST(CmsSignedData, AttachedRoundTripVerifies) {
  TsaPki pki;
  const Bytes content = ToBytes("hello, signed world");
  SignedDataSpec spec = Spec(pki, content);
  spec.signing_time = testing::T0();
  spec.extra_signed_attributes.push_back({"1.2.3.4.5", {der::Utf8String("extra")}});
  Bytes der = Must(BuildSignedData(spec, pki.tsa_key.signer));
  SignedData sd = Must(ParseSignedData(der));
  EXPECT_EQ(sd.outer_content_type, oid::kCmsSignedData);
  EXPECT_EQ(sd.content_type, oid::kCmsData);
  EXPECT_EQ(sd.version, 1);  // id-data, IssuerAndSerialNumber: RFC 5652 section 5.1
  ASSERT_TRUE(sd.content);
  EXPECT_EQ(*sd.content, content);
  ASSERT_EQ(sd.certificates.size(), 1u);
  ASSERT_EQ(sd.signers.size(), 1u);
  const CmsSignerInfo& si = sd.signers[0];
  EXPECT_EQ(si.version, 1);
  EXPECT_EQ(si.digest_oid, "1.2.156.10197.1.401");
  EXPECT_EQ(si.signature_oid, "1.2.156.10197.1.501");
  EXPECT_TRUE(SignerIdMatches(si, pki.tsa));
  EXPECT_FALSE(SignerIdMatches(si, pki.ca));
  ASSERT_NE(si.FindSignedAttribute(oid::kAttrSigningTime), nullptr);
  ASSERT_NE(si.FindSignedAttribute("1.2.3.4.5"), nullptr);
  CmsVerified v = Must(VerifySignedData(sd, {}));
  EXPECT_EQ(v.signer.der(), pki.tsa.der());
}

// req: AS-05
TEST(CmsSignedData, DetachedNeedsTheContent) {
  TsaPki pki;
  const Bytes content = ToBytes("detached document");
  SignedDataSpec spec = Spec(pki, content);
  spec.detached = true;
  SignedData sd = Must(ParseSignedData(Must(BuildSignedData(spec, pki.tsa_key.signer))));
  EXPECT_FALSE(sd.content);
  EXPECT_EQ(VerifySignedData(sd, {}).error().code(), ErrorCode::kInvalidArgument);
  CmsVerifyOptions ok;
  ok.detached_content = content;
  EXPECT_TRUE(VerifySignedData(sd, ok).ok());
  const Bytes other = ToBytes("detached documenT");
  CmsVerifyOptions bad;
  bad.detached_content = other;
  EXPECT_EQ(VerifySignedData(sd, bad).error().code(), ErrorCode::kBadSignature);
}

// GM/T 0010 outer OIDs, versions 1, and sm2-1 (301.1) as signatureAlgorithm; both parse and
// verify (STANDARDS-NOTES sections 2.3 and 5: accept both).
// req: AS-05
TEST(CmsSignedData, GmFlavorAndSm2SignOid) {
  TsaPki pki;
  const Bytes content = ToBytes("GM/T 0010");
  SignedDataSpec spec = Spec(pki, content);
  spec.flavor = CmsFlavor::kGmt0010;
  spec.signature_oid = CmsSignatureOid::kSm2Sign;
  spec.content_type = "1.2.840.113549.1.9.16.1.4";
  Bytes der = Must(BuildSignedData(spec, pki.tsa_key.signer));
  // 06 0A 2A 81 1C CF 55 06 01 04 02 02 (STANDARDS-NOTES section 1.1).
  const Bytes expected = Must(HexDecode("060a2a811ccf550601040202"));
  EXPECT_TRUE(std::search(der.begin(), der.end(), expected.begin(), expected.end()) != der.end());
  SignedData sd = Must(ParseSignedData(der));
  EXPECT_EQ(sd.outer_content_type, oid::kGmSignedData);
  EXPECT_EQ(sd.version, 1);
  EXPECT_EQ(sd.signers[0].signature_oid, oid::kSm2Sign);
  EXPECT_TRUE(VerifySignedData(sd, {}).ok());

  // RFC 5652 flavor with a non-data eContentType: version 3.
  spec.flavor = CmsFlavor::kRfc5652;
  SignedData rfc = Must(ParseSignedData(Must(BuildSignedData(spec, pki.tsa_key.signer))));
  EXPECT_EQ(rfc.version, 3);
}

// req: AS-05
TEST(CmsSignedData, WithoutSignedAttributesSignsTheContent) {
  TsaPki pki;
  const Bytes content = ToBytes("no attributes");
  SignedDataSpec spec = Spec(pki, content);
  spec.signed_attributes = false;
  SignedData sd = Must(ParseSignedData(Must(BuildSignedData(spec, pki.tsa_key.signer))));
  EXPECT_FALSE(sd.signers[0].has_signed_attributes);
  EXPECT_TRUE(VerifySignedData(sd, {}).ok());
  sd.content->back() ^= 1;
  EXPECT_EQ(VerifySignedData(sd, {}).error().code(), ErrorCode::kBadSignature);
}

// req: AS-05
TEST(CmsSignedData, TamperingIsDetected) {
  TsaPki pki;
  const Bytes content = ToBytes("integrity");
  SignedData sd =
      Must(ParseSignedData(Must(BuildSignedData(Spec(pki, content), pki.tsa_key.signer))));
  SignedData changed = sd;
  changed.content->at(0) ^= 0x20;
  EXPECT_EQ(VerifySignedData(changed, {}).error().code(), ErrorCode::kBadSignature);
  SignedData sig = sd;
  sig.signers[0].signed_attributes_der.back() ^= 1;
  EXPECT_EQ(VerifySignedData(sig, {}).error().code(), ErrorCode::kBadSignature);
  SignedData type = sd;
  type.content_type = "1.2.840.113549.1.7.5";
  EXPECT_EQ(VerifySignedData(type, {}).error().code(), ErrorCode::kBadSignature);
  SignedData alg = sd;
  alg.signers[0].digest_oid = "2.16.840.1.101.3.4.2.1";
  EXPECT_EQ(VerifySignedData(alg, {}).error().code(), ErrorCode::kUnsupported);
}

// req: AS-05
TEST(CmsSignedData, SignerCertificateFromSetOrSupplied) {
  TsaPki pki;
  const Bytes content = ToBytes("who signed");
  SignedDataSpec spec = Spec(pki, content);
  spec.certificates.clear();
  SignedData sd = Must(ParseSignedData(Must(BuildSignedData(spec, pki.tsa_key.signer))));
  EXPECT_TRUE(sd.certificates.empty());
  EXPECT_EQ(VerifySignedData(sd, {}).error().code(), ErrorCode::kNotFound);
  CmsVerifyOptions wrong;
  wrong.signer_certificate = &pki.ca;  // does not match the sid
  EXPECT_EQ(VerifySignedData(sd, wrong).error().code(), ErrorCode::kNotFound);
  CmsVerifyOptions right;
  right.signer_certificate = &pki.tsa;
  EXPECT_TRUE(VerifySignedData(sd, right).ok());

  // A certificate for another key is refused by the builder.
  SignedDataSpec mismatch = Spec(pki, content);
  mismatch.signer_certificate = &pki.ca;
  EXPECT_EQ(BuildSignedData(mismatch, pki.tsa_key.signer).error().code(),
            ErrorCode::kInvalidArgument);
  SignedDataSpec reserved = Spec(pki, content);
  reserved.extra_signed_attributes.push_back(
      {std::string(oid::kAttrMessageDigest), {der::OctetString(content)}});
  EXPECT_EQ(BuildSignedData(reserved, pki.tsa_key.signer).error().code(),
            ErrorCode::kInvalidArgument);
}

// Every strict prefix and every single-bit flip of the structure: no crash, prefixes always
// rejected as malformed, flips either rejected or (if they still parse) never verifying
// unless the flip hit bytes outside what is signed.
// req: AS-05
TEST(CmsSignedData, TruncationAndBitFlipsNeverCrash) {
  TsaPki pki;
  const Bytes content = ToBytes("short");
  Bytes der = Must(BuildSignedData(Spec(pki, content), pki.tsa_key.signer));
  for (std::size_t n = 0; n < der.size(); ++n) {
    auto r = ParseSignedData(ByteView(der).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedInput) << n;
  }
  for (std::size_t i = 0; i < der.size(); i += 3) {
    Bytes m = der;
    m[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
    auto r = ParseSignedData(m);
    if (r.ok()) (void)VerifySignedData(*r, {});
  }
}

// OpenSSL's CMS decoder (independent) reads our SignedData and prints its fields.
// req: AS-05
TEST(CmsSignedData, OpenSslCmsParsesOurEncoding) {
  TsaPki pki;
  testing::TempDir dir;
  const Bytes content = ToBytes("openssl reads this");
  SignedDataSpec spec = Spec(pki, content);
  spec.signing_time = testing::T0();
  dir.Write("sd.der", Must(BuildSignedData(spec, pki.tsa_key.signer)));
  auto r = testing::RunCommand("openssl cms -cmsout -print -inform DER -in " + dir.Path("sd.der"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("contentType: pkcs7-signedData"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sm3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SM2-with-SM3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("signingTime"), std::string::npos) << r.output;
  // eContent is hex-dumped, 15 characters a line.
  EXPECT_NE(r.output.find("openssl reads t"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gmpki::x509
