#include <gtest/gtest.h>

#include "x509/crl.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using namespace testing;

CrlSpec MakeSpec(const Name& issuer) {
  CrlSpec s;
  s.issuer = issuer;
  s.this_update = T0();
  s.next_update = Days(7);
  s.crl_number = 42;
  s.entries.push_back({Bytes{0x01, 0x02}, Days(-3), RevocationReason::kKeyCompromise, Days(-5)});
  s.entries.push_back({Bytes{0x00, 0x80}, Days(-2), RevocationReason::kCertificateHold, {}});
  s.entries.push_back({Bytes{0x7f}, Days(-1), std::nullopt, {}});
  return s;
}

// req: CA-03
TEST(Crl, BuildParseVerify) {
  TestKey ca = NewKey();
  Name issuer = N("C=CN,O=MOHRSS,CN=Business CA");
  Bytes der = Must(BuildCrl(MakeSpec(issuer), ca.signer));
  Crl crl = Must(Crl::FromDer(der));
  EXPECT_EQ(crl.version(), 2);
  EXPECT_EQ(crl.issuer(), issuer);
  EXPECT_EQ(crl.this_update(), T0());
  EXPECT_EQ(crl.next_update(), Days(7));
  EXPECT_EQ(crl.crl_number(), 42u);
  EXPECT_FALSE(crl.is_delta());
  EXPECT_EQ(crl.authority_key_id(), KeyIdentifierFor(ca.pub));
  ASSERT_EQ(crl.entries().size(), 3u);
  const RevokedEntry* e = crl.Find(Bytes{0x00, 0x01, 0x02});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->reason, RevocationReason::kKeyCompromise);
  EXPECT_EQ(e->revocation_date, Days(-3));
  EXPECT_EQ(e->invalidity_date, Days(-5));
  EXPECT_EQ(crl.Find(Bytes{0x80})->reason, RevocationReason::kCertificateHold);
  EXPECT_FALSE(crl.Find(Bytes{0x7f})->reason.has_value());
  EXPECT_EQ(crl.Find(Bytes{0x03}), nullptr);
  EXPECT_TRUE(VerifyCrlSignature(crl, ca.pub).ok());
  EXPECT_EQ(Must(Crl::Parse(AsBytes(crl.ToPem()))).der(), der);

  // The GM/T ID is in Z: an empty-ID check fails (what X509_CRL_verify would do).
  EXPECT_FALSE(crypto::Sm2Verify(ca.pub, {}, crl.tbs_der(), crl.signature()).ok());
  EXPECT_EQ(VerifyCrlSignature(crl, NewKey().pub).error().code(), ErrorCode::kBadSignature);
}

// req: CA-03
TEST(Crl, TamperedCrlFails) {
  TestKey ca = NewKey();
  Bytes der = Must(BuildCrl(MakeSpec(N("CN=CA")), ca.signer));
  Crl good = Must(Crl::FromDer(der));
  // Change the first revoked serial 01 02 -> 01 03 inside the TBS.
  std::string hex = HexEncode(der);
  std::size_t pos = hex.find("02020102");
  ASSERT_NE(pos, std::string::npos);
  der[pos / 2 + 3] = 0x03;
  Crl bad = Must(Crl::FromDer(der));
  EXPECT_NE(bad.Find(Bytes{0x01, 0x03}), nullptr);
  EXPECT_EQ(VerifyCrlSignature(bad, ca.pub).error().code(), ErrorCode::kBadSignature);
  EXPECT_TRUE(VerifyCrlSignature(good, ca.pub).ok());
}

// req: CA-03
TEST(Crl, DeltaCrlAndValidation) {
  TestKey ca = NewKey();
  CrlSpec s = MakeSpec(N("CN=CA"));
  s.crl_number = 43;
  s.delta_base = 42;
  Crl delta = Must(Crl::FromDer(Must(BuildCrl(s, ca.signer))));
  EXPECT_TRUE(delta.is_delta());
  EXPECT_EQ(delta.delta_base(), 42u);
  EXPECT_EQ(delta.crl_number(), 43u);
  const Extension* di = FindExtension(delta.extensions(), oid::kDeltaCrlIndicator);
  ASSERT_NE(di, nullptr);
  EXPECT_TRUE(di->critical);

  CrlSpec dup = MakeSpec(N("CN=CA"));
  dup.entries.push_back({Bytes{0x00, 0x01, 0x02}, T0(), {}, {}});
  EXPECT_EQ(BuildCrl(dup, ca.signer).error().code(), ErrorCode::kInvalidArgument);
  CrlSpec times = MakeSpec(N("CN=CA"));
  times.next_update = times.this_update;
  EXPECT_EQ(BuildCrl(times, ca.signer).error().code(), ErrorCode::kInvalidArgument);
  CrlSpec empty = MakeSpec(N("CN=CA"));
  empty.entries.clear();
  Crl e = Must(Crl::FromDer(Must(BuildCrl(empty, ca.signer))));
  EXPECT_TRUE(e.entries().empty());
  EXPECT_EQ(RevocationReasonName(RevocationReason::kCaCompromise), "cACompromise");
  EXPECT_EQ(Must(ParseRevocationReason("superseded")), RevocationReason::kSuperseded);
  EXPECT_FALSE(ParseRevocationReason("bogus").ok());
  Bytes trailing = e.der();
  trailing.push_back(0);
  EXPECT_EQ(Crl::FromDer(trailing).error().code(), ErrorCode::kMalformedInput);
}

// req: CA-03
TEST(CrlInterop, OpenSslParsesCrl) {
  TestKey ca = NewKey();
  CrlSpec s = MakeSpec(N("C=CN,O=MOHRSS,CN=Business CA"));
  s.delta_base = 41;
  TempDir dir;
  dir.Write("c.crl", Must(BuildCrl(s, ca.signer)));
  auto r = RunCommand("openssl crl -inform DER -in " + dir.Path("c.crl") + " -noout -text");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"Version 2 (0x1)", "SM2-with-SM3", "Issuer: C = CN, O = MOHRSS, CN = Business CA",
        "X509v3 CRL Number", "42", "X509v3 Delta CRL Indicator: critical", "41",
        "X509v3 Authority Key Identifier", "Serial Number: 0102", "Key Compromise",
        "Invalidity Date", "Serial Number: 80", "Certificate Hold", "Serial Number: 7F",
        "Next Update: Jan  8 00:00:00 2026 GMT"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
}

}  // namespace
}  // namespace gmpki::x509
