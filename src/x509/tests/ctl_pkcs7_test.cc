#include <gtest/gtest.h>

#include "x509/ctl.h"
#include "x509/pem.h"
#include "x509/pkcs7.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using namespace testing;

CtlSpec MakeCtl(const Chain4& c) {
  CtlSpec s;
  s.sequence_number = 7;
  s.this_update = T0();
  s.next_update = Days(30);
  s.issuer = c.industry_name;
  s.trusted.push_back({c.root, {}});
  s.trusted.push_back({c.business, {std::string(oid::kKpClientAuth)}});
  return s;
}

// req: HI-01
TEST(Ctl, BuildParseVerify) {
  Chain4 c;
  Bytes der = Must(BuildCtl(MakeCtl(c), c.industry_key.signer));
  CertificateTrustList ctl = Must(CertificateTrustList::FromDer(der));
  EXPECT_EQ(ctl.sequence_number(), 7u);
  EXPECT_EQ(ctl.this_update(), T0());
  EXPECT_EQ(ctl.next_update(), Days(30));
  EXPECT_EQ(ctl.issuer(), c.industry_name);
  ASSERT_EQ(ctl.trusted().size(), 2u);
  EXPECT_EQ(ctl.trusted()[0].certificate.der(), c.root.der());
  EXPECT_TRUE(ctl.trusted()[0].usages.empty());
  EXPECT_EQ(ctl.trusted()[1].usages, std::vector<std::string>{std::string(oid::kKpClientAuth)});
  EXPECT_TRUE(VerifyCtlSignature(ctl, c.industry_key.pub).ok());
  EXPECT_EQ(VerifyCtlSignature(ctl, c.root_key.pub).error().code(), ErrorCode::kBadSignature);
  EXPECT_EQ(Must(CertificateTrustList::FromPem(ctl.ToPem())).der(), der);

  // Tamper the sequence number (02 01 07 right after the version 02 01 01).
  Bytes bad = der;
  std::string hex = HexEncode(bad);
  std::size_t pos = hex.find("020101020107");
  ASSERT_NE(pos, std::string::npos);
  bad[pos / 2 + 5] = 0x08;
  CertificateTrustList t = Must(CertificateTrustList::FromDer(bad));
  EXPECT_EQ(t.sequence_number(), 8u);
  EXPECT_EQ(VerifyCtlSignature(t, c.industry_key.pub).error().code(), ErrorCode::kBadSignature);
}

// req: HI-01
TEST(Ctl, RejectsBadSpecs) {
  Chain4 c;
  CtlSpec s = MakeCtl(c);
  s.trusted.push_back({c.ee, {}});
  EXPECT_EQ(BuildCtl(s, c.industry_key.signer).error().code(), ErrorCode::kInvalidArgument);
  s = MakeCtl(c);
  s.trusted.push_back({c.root, {}});
  EXPECT_EQ(BuildCtl(s, c.industry_key.signer).error().code(), ErrorCode::kInvalidArgument);
  s = MakeCtl(c);
  s.trusted.clear();
  EXPECT_EQ(BuildCtl(s, c.industry_key.signer).error().code(), ErrorCode::kInvalidArgument);
  Bytes der = Must(BuildCtl(MakeCtl(c), c.industry_key.signer));
  der.push_back(0);
  EXPECT_EQ(CertificateTrustList::FromDer(der).error().code(), ErrorCode::kMalformedInput);
}

// req: HI-01
TEST(CtlInterop, OpenSslAsn1ParseReadsCtl) {
  Chain4 c;
  TempDir dir;
  dir.Write("ctl.der", Must(BuildCtl(MakeCtl(c), c.industry_key.signer)));
  auto r = RunCommand("openssl asn1parse -inform DER -in " + dir.Path("ctl.der"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("GENERALIZEDTIME   :20260101000000Z"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SM2-with-SM3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("TLS Web Client Authentication"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Error"), std::string::npos) << r.output;
}

// req: CA-02
TEST(Pkcs7, CertsOnlyRoundTripAndOpenSsl) {
  Chain4 c;
  std::vector<Certificate> chain{c.ee, c.business, c.industry, c.root};
  Bytes der = Must(BuildCertsOnlyPkcs7(chain));
  auto back = Must(ParsePkcs7Certificates(der));
  ASSERT_EQ(back.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(back[i].der(), chain[i].der());
  std::string pem = Must(BuildCertsOnlyPkcs7Pem(chain));
  EXPECT_EQ(Must(ParsePkcs7Certificates(AsBytes(pem))).size(), 4u);
  EXPECT_EQ(BuildCertsOnlyPkcs7({}).error().code(), ErrorCode::kInvalidArgument);

  TempDir dir;
  dir.Write("chain.p7b", der);
  auto r = RunCommand("openssl pkcs7 -inform DER -in " + dir.Path("chain.p7b") +
                      " -print_certs -noout");
  ASSERT_EQ(r.status, 0) << r.output;
  std::size_t subjects = 0;
  for (std::size_t p = 0; (p = r.output.find("subject=", p)) != std::string::npos; ++p) ++subjects;
  EXPECT_EQ(subjects, 4u) << r.output;
  EXPECT_NE(r.output.find("CN = Zhang San"), std::string::npos) << r.output;
  // And OpenSSL's own certs-only output parses with ours.
  dir.Write("a.pem", CertificatesToPem(chain));
  auto crl2p7 = RunCommand("openssl crl2pkcs7 -nocrl -certfile " + dir.Path("a.pem") +
                           " -outform DER -out " + dir.Path("ossl.p7b"));
  ASSERT_EQ(crl2p7.status, 0) << crl2p7.output;
  EXPECT_EQ(Must(ParsePkcs7Certificates(dir.Read("ossl.p7b"))).size(), 4u);
}

}  // namespace
}  // namespace gmpki::x509
