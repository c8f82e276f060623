#include <gtest/gtest.h>

#include "x509/certificate.h"
#include "x509/der.h"
#include "x509/pem.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using namespace testing;

std::vector<Extension> AllExtensions(const crypto::Sm2PublicKey& subject,
                                     const crypto::Sm2PublicKey& issuer) {
  return {
      ext::BasicConstraints(false),
      Must(ext::KeyUsage(kDigitalSignature | kNonRepudiation)),
      Must(ext::ExtKeyUsage({std::string(oid::kKpClientAuth),
                             std::string(oid::kKpEmailProtection)})),
      ext::SubjectKeyIdentifier(KeyIdentifierFor(subject)),
      ext::AuthorityKeyIdentifier(KeyIdentifierFor(issuer)),
      Must(ext::CrlDistributionPoints({"http://crl.example.cn/business.crl"})),
      Must(ext::AuthorityInfoAccess({"http://ocsp.example.cn"},
                                    {"http://ca.example.cn/business.cer"})),
      Must(ext::CertificatePolicies({"1.2.156.112562.1.1"}, "http://ca.example.cn/cps")),
      Must(ext::SubjectAltName({{"zhangsan@example.cn"}, {"www.example.cn"}, {}})),
      Must(ext::IdentifyCode({ext::IdentityCodeKind::kResidentIdCard, "11010119900307777X"})),
      Must(ext::InsuranceNumber("110101199003077777")),
      Must(ext::IcRegistrationNumber("110000000000000")),
      Must(ext::OrganizationCode("12345678-9")),
      Must(ext::TaxationNumber("110101123456789")),
      Must(ext::UnifiedSocialCreditCode("91110000100000000X")),
  };
}

struct Issued {
  TestKey issuer = NewKey();
  TestKey subject = NewKey();
  Name issuer_name = N("C=CN,O=MOHRSS,CN=Business CA");
  Name subject_name = N("C=CN,ST=Beijing,L=Haidian,O=MOHRSS,OU=IT,CN=Zhang San");
  TbsSpec spec;
  Bytes der;
  Issued() {
    spec.serial = Bytes{0x01, 0x23, 0x45, 0x67, 0x89};
    spec.issuer = issuer_name;
    spec.subject = subject_name;
    spec.not_before = T0();
    spec.not_after = Days(365);
    spec.subject_public_key = subject.pub;
    spec.extensions = AllExtensions(subject.pub, issuer.pub);
    der = Must(IssueCertificate(spec, issuer.signer));
  }
};

// req: CA-02
// req: CA-04
TEST(Certificate, IssueAndParseAllFields) {
  Issued i;
  Certificate c = Must(Certificate::FromDer(i.der));
  EXPECT_EQ(c.version(), 3);
  EXPECT_EQ(c.serial_hex(), "0123456789");
  EXPECT_EQ(c.issuer(), i.issuer_name);
  EXPECT_EQ(c.subject().ToString(), "C=CN,ST=Beijing,L=Haidian,O=MOHRSS,OU=IT,CN=Zhang San");
  EXPECT_EQ(c.not_before(), T0());
  EXPECT_EQ(c.not_after(), Days(365));
  EXPECT_EQ(c.public_key(), i.subject.pub);
  EXPECT_FALSE(c.is_ca());
  EXPECT_EQ(c.key_usage(), kDigitalSignature | kNonRepudiation);
  EXPECT_EQ(c.ext_key_usage().size(), 2u);
  EXPECT_EQ(c.subject_key_id(), KeyIdentifierFor(i.subject.pub));
  EXPECT_EQ(c.authority_key_id(), KeyIdentifierFor(i.issuer.pub));
  EXPECT_EQ(c.extensions().size(), 15u);
  EXPECT_EQ(c.fingerprint_hex(), HexEncode(crypto::Sm3(i.der)));
  EXPECT_EQ(c.der(), i.der);
  EXPECT_EQ(ByteView(c.tbs_der()).size(), Must(BuildTbsCertificate(i.spec)).size());

  auto code = Must(ParseIdentifyCode(c.FindExtension(oid::kIdentifyCode)->value));
  EXPECT_EQ(code.kind, ext::IdentityCodeKind::kResidentIdCard);
  EXPECT_EQ(code.number, "11010119900307777X");
  EXPECT_EQ(Must(ParseStringExtension(c.FindExtension(oid::kUnifiedSocialCreditCode)->value)),
            "91110000100000000X");
  EXPECT_EQ(Must(ParseCrlDistributionPoints(c.FindExtension(oid::kCrlDistributionPoints)->value)),
            std::vector<std::string>{"http://crl.example.cn/business.crl"});
  auto san = Must(ParseSubjectAltName(c.FindExtension(oid::kSubjectAltName)->value));
  EXPECT_EQ(san.emails, std::vector<std::string>{"zhangsan@example.cn"});
  EXPECT_EQ(san.dns_names, std::vector<std::string>{"www.example.cn"});
  EXPECT_EQ(Must(ParseCertificatePolicies(c.FindExtension(oid::kCertificatePolicies)->value)),
            std::vector<std::string>{"1.2.156.112562.1.1"});

  // The signature algorithm is 1.2.156.10197.1.501 with parameters ABSENT (GM/T 0015-2023).
  EXPECT_NE(HexEncode(i.der).find("300a06082a811ccf55018375"), std::string::npos);
  EXPECT_EQ(HexEncode(i.der).find("300c06082a811ccf550183750500"), std::string::npos);
}

// req: CA-04
TEST(Certificate, SignatureUsesGmtIdAndOriginalTbs) {
  Issued i;
  Certificate c = Must(Certificate::FromDer(i.der));
  EXPECT_TRUE(VerifyCertificateSignature(c, i.issuer.pub).ok());
  EXPECT_EQ(VerifyCertificateSignature(c, i.subject.pub).error().code(),
            ErrorCode::kBadSignature);
  // The signature is over e = SM3(Z(ID=1234567812345678) || TBS): an empty ID fails.
  EXPECT_FALSE(crypto::Sm2Verify(i.issuer.pub, {}, c.tbs_der(), c.signature()).ok());
  EXPECT_TRUE(crypto::Sm2Verify(i.issuer.pub, AsBytes("1234567812345678"), c.tbs_der(),
                                c.signature()).ok());
}

// req: CA-04
TEST(Certificate, TamperedTbsByteFailsWithBadSignature) {
  Issued i;
  Certificate good = Must(Certificate::FromDer(i.der));
  // Flip one byte inside the subject's CN value ("Zhang San" -> "Zhang Sam").
  Bytes bad = i.der;
  std::string s = ToString(bad);
  std::size_t pos = s.find("Zhang San");
  ASSERT_NE(pos, std::string::npos);
  bad[pos + 8] = 'm';
  Certificate c = Must(Certificate::FromDer(bad));
  EXPECT_EQ(c.subject().Get("CN"), "Zhang Sam");
  EXPECT_EQ(VerifyCertificateSignature(c, i.issuer.pub).error().code(), ErrorCode::kBadSignature);
  EXPECT_TRUE(VerifyCertificateSignature(good, i.issuer.pub).ok());
}

// req: CA-04
TEST(Certificate, WrongIdSignerFails) {
  TestKey wrong = NewKey("");  // OpenSSL 3.0's default: the empty ID
  Issued i;
  Bytes der = Must(IssueCertificate(i.spec, wrong.signer));
  Certificate c = Must(Certificate::FromDer(der));
  EXPECT_EQ(VerifyCertificateSignature(c, wrong.pub).error().code(), ErrorCode::kBadSignature);
}

TEST(Certificate, SpecValidation) {
  Issued i;
  TbsSpec s = i.spec;
  s.serial = Bytes{0x00, 0x00};
  EXPECT_EQ(IssueCertificate(s, i.issuer.signer).error().code(), ErrorCode::kInvalidArgument);
  s.serial = Bytes(20, 0x7f);
  EXPECT_TRUE(IssueCertificate(s, i.issuer.signer).ok());
  s.serial = Bytes(20, 0x80);  // 21 octets once DER adds the sign octet
  EXPECT_EQ(IssueCertificate(s, i.issuer.signer).error().code(), ErrorCode::kInvalidArgument);
  s = i.spec;
  s.not_after = s.not_before;
  EXPECT_EQ(IssueCertificate(s, i.issuer.signer).error().code(), ErrorCode::kInvalidArgument);
  s = i.spec;
  s.extensions.push_back(ext::BasicConstraints(true));
  EXPECT_EQ(IssueCertificate(s, i.issuer.signer).error().code(), ErrorCode::kInvalidArgument);
  s = i.spec;
  s.subject = Name();
  EXPECT_EQ(IssueCertificate(s, i.issuer.signer).error().code(), ErrorCode::kInvalidArgument);
  Bytes serial = Must(GenerateSerial());
  EXPECT_EQ(serial.size(), 16u);
  EXPECT_EQ(serial[0] & 0xc0, 0x40);
}

TEST(Certificate, ParseRejectsTrailingDataOversizeAndGarbage) {
  Issued i;
  Bytes trailing = i.der;
  trailing.push_back(0x00);
  EXPECT_EQ(Certificate::FromDer(trailing).error().code(), ErrorCode::kMalformedInput);
  EXPECT_EQ(Certificate::FromDer(Bytes(kMaxObjectSize + 1, 0x30)).error().code(),
            ErrorCode::kTooLarge);
  EXPECT_EQ(Certificate::FromDer(Bytes{0x30, 0x00}).error().code(), ErrorCode::kMalformedInput);
  for (std::size_t cut : {std::size_t{1}, i.der.size() / 2, i.der.size() - 1}) {
    EXPECT_FALSE(Certificate::FromDer(ByteView(i.der).first(cut)).ok());
  }
}

// Every single-byte corruption and every truncation either parses or fails cleanly; one that
// parses and changes the TBS never verifies (run under ASan/UBSan with -DGMPKI_SANITIZE=ON).
TEST(Certificate, EveryByteFlipAndTruncationIsHandled) {
  Issued i;
  std::size_t verified_after_flip = 0;
  for (std::size_t pos = 0; pos < i.der.size(); ++pos) {
    Bytes m = i.der;
    m[pos] ^= 0x5a;
    auto c = Certificate::FromDer(m);
    if (c.ok() && VerifyCertificateSignature(*c, i.issuer.pub).ok()) ++verified_after_flip;
    EXPECT_FALSE(Certificate::FromDer(ByteView(i.der).first(pos)).ok());
  }
  EXPECT_EQ(verified_after_flip, 0u);
}

TEST(Certificate, PemHelpersHandleMultipleCertificates) {
  Chain4 ch;
  std::string pem = "junk before\n" + CertificatesToPem({ch.ee, ch.business, ch.industry});
  auto certs = Must(ParseCertificatesPem(pem));
  ASSERT_EQ(certs.size(), 3u);
  EXPECT_EQ(certs[0].der(), ch.ee.der());
  EXPECT_EQ(certs[2].der(), ch.industry.der());
  EXPECT_EQ(Must(Certificate::Parse(AsBytes(ch.root.ToPem()))).der(), ch.root.der());
  EXPECT_EQ(Must(Certificate::Parse(ch.root.der())).der(), ch.root.der());
  EXPECT_EQ(ParseCertificatesPem("no pem here").error().code(), ErrorCode::kMalformedInput);
  EXPECT_FALSE(PemDecode("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                         kPemCertificate)
                   .ok());
}

// req: CA-04
TEST(Extensions, IdentifyCodeExplicitEmittedImplicitAccepted) {
  auto e = Must(ext::IdentifyCode({ext::IdentityCodeKind::kPassport, "E12345678"}));
  EXPECT_EQ(HexEncode(e.value), "a20b1309453132333435363738");  // [2] EXPLICIT PrintableString
  EXPECT_EQ(HexEncode(Must(ext::IdentifyCode({ext::IdentityCodeKind::kResidentIdCard, "1"})).value),
            "a003130131");
  auto implicit = Bytes{0x82, 0x03, 'E', '1', '2'};
  auto parsed = Must(ParseIdentifyCode(implicit));
  EXPECT_EQ(parsed.kind, ext::IdentityCodeKind::kPassport);
  EXPECT_EQ(parsed.number, "E12");
  auto mil = Must(ext::IdentifyCode({ext::IdentityCodeKind::kMilitaryOfficerCard, "军字123"}));
  EXPECT_EQ(Must(ParseIdentifyCode(mil.value)).number, "军字123");
  EXPECT_FALSE(ParseIdentifyCode(Bytes{0x83, 0x01, 'x'}).ok());
  EXPECT_FALSE(ext::IdentifyCode({ext::IdentityCodeKind::kResidentIdCard, "a*b"}).ok());
  EXPECT_EQ(oid::kUnifiedSocialCreditCode, "1.2.156.10260.4.4");
}

TEST(Extensions, BasicConstraintsAndKeyUsageRoundTrip) {
  auto bc = Must(ParseBasicConstraints(ext::BasicConstraints(true, 2).value));
  EXPECT_TRUE(bc.ca);
  EXPECT_EQ(bc.path_len, 2);
  EXPECT_EQ(HexEncode(ext::BasicConstraints(false).value), "3000");
  EXPECT_EQ(Must(ParseKeyUsage(Must(ext::KeyUsage(kKeyCertSign | kCrlSign)).value)),
            kKeyCertSign | kCrlSign);
  EXPECT_FALSE(ext::KeyUsage(0).ok());
  EXPECT_EQ(Must(ParseCrlNumber(ext::CrlNumber(0x1234).value)), 0x1234u);
  EXPECT_EQ(EncodeExtensions({ext::CrlNumber(1), ext::CrlNumber(2)}).error().code(),
            ErrorCode::kInvalidArgument);
}

// req: CA-04
TEST(CertificateInterop, OpenSslParsesEveryExtension) {
  Issued i;
  TempDir dir;
  dir.Write("c.der", i.der);
  auto r = RunCommand("openssl x509 -inform DER -in " + dir.Path("c.der") + " -noout -text");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"Version: 3", "(0x123456789)", "SM2-with-SM3", "Subject: C = CN, ST = Beijing",
        "CN = Zhang San", "X509v3 Basic Constraints: critical", "CA:FALSE",
        "X509v3 Key Usage: critical", "Digital Signature, Non Repudiation",
        "TLS Web Client Authentication, E-mail Protection", "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier", "URI:http://crl.example.cn/business.crl",
        "OCSP - URI:http://ocsp.example.cn", "CA Issuers - URI:http://ca.example.cn/business.cer",
        "Policy: 1.2.156.112562.1.1", "CPS: http://ca.example.cn/cps",
        "email:zhangsan@example.cn", "DNS:www.example.cn", "1.2.156.10260.4.1.1",
        "1.2.156.10260.4.1.2", "1.2.156.10260.4.1.3", "1.2.156.10260.4.1.4",
        "1.2.156.10260.4.1.5", "1.2.156.10260.4.4", "Not After : Jan  1 00:00:00 2027 GMT"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find("unable"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gmpki::x509
