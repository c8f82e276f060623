#include <gtest/gtest.h>

#include <chrono>

#include "x509/crl.h"
#include "x509/der.h"
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

// The TBSCertList as the generic DER writer encodes it (the encoder BuildCrl had before it was
// made linear): BuildCrl's single-buffer encoder must produce exactly these bytes.
Bytes ReferenceTbs(const CrlSpec& s, const crypto::Sm2PublicKey& signer_key) {
  std::vector<Bytes> tbs{der::Integer(1), Sm3WithSm2AlgorithmId(), s.issuer.der(),
                         Must(der::Time(s.this_update)), Must(der::Time(s.next_update))};
  if (!s.entries.empty()) {
    std::vector<Bytes> revoked;
    for (const auto& e : s.entries) {
      std::vector<Bytes> entry{der::IntegerFromUnsigned(e.serial),
                               Must(der::Time(e.revocation_date))};
      std::vector<Extension> exts;
      if (e.reason && *e.reason != RevocationReason::kUnspecified) {
        exts.push_back(ext::ReasonCode(static_cast<int>(*e.reason)));
      }
      if (e.invalidity_date) exts.push_back(Must(ext::InvalidityDate(*e.invalidity_date)));
      if (!exts.empty()) entry.push_back(Must(EncodeExtensions(exts)));
      revoked.push_back(der::Sequence(entry));
    }
    tbs.push_back(der::Sequence(revoked));
  }
  std::vector<Extension> exts{ext::AuthorityKeyIdentifier(KeyIdentifierFor(signer_key)),
                              ext::CrlNumber(s.crl_number)};
  if (s.delta_base) exts.push_back(ext::DeltaCrlIndicator(*s.delta_base));
  if (s.issuing_distribution_point) {
    exts.push_back(Must(ext::IssuingDistributionPoint(*s.issuing_distribution_point)));
  }
  tbs.push_back(der::Explicit(0, Must(EncodeExtensions(exts))));
  return der::Sequence(tbs);
}

// req: CA-03
TEST(CrlEncoder, SameBytesAsGenericDerWriter) {
  TestKey ca = NewKey();
  CrlSpec s = MakeSpec(N("C=CN,O=MOHRSS,CN=Business CA"));
  // Top bit set (INTEGER needs 0x00), 20 octets, every reason, times on both sides of 2050,
  // an unspecified reason (omitted), and input not in ascending order.
  s.entries.push_back({Bytes(20, 0xff), Days(9000), RevocationReason::kAaCompromise, Days(8999)});
  s.entries.push_back({Bytes{0x00, 0x00, 0x05}, Days(-400), RevocationReason::kUnspecified, {}});
  for (int r : {2, 3, 4, 5, 8, 9}) {
    s.entries.push_back({Bytes{0x10, static_cast<std::uint8_t>(r)},
                         T0() + std::chrono::seconds(r * 3671),
                         static_cast<RevocationReason>(r), {}});
  }
  s.delta_base = 40;
  for (bool with_idp : {false, true}) {
    if (with_idp) {
      s.issuing_distribution_point =
          IssuingDistributionPointValue{{"http://crl.example.cn/crl/biz-p3.crl"}, true, false};
    }
    Crl crl = Must(Crl::FromDer(Must(BuildCrl(s, ca.signer))));
    EXPECT_EQ(HexEncode(crl.tbs_der()), HexEncode(ReferenceTbs(s, ca.pub)));
    EXPECT_TRUE(VerifyCrlSignature(crl, ca.pub).ok());
    ASSERT_EQ(crl.entries().size(), s.entries.size());
    EXPECT_EQ(crl.Find(Bytes(20, 0xff))->invalidity_date, Days(8999));
    EXPECT_EQ(crl.Find(Bytes{0x05})->revocation_date, Days(-400));
    EXPECT_FALSE(crl.Find(Bytes{0x05})->reason.has_value());
    EXPECT_EQ(crl.Find(Bytes{0x10, 0x09})->reason, RevocationReason::kPrivilegeWithdrawn);
  }
  // An empty list is absent (RFC 5280 section 5.1.2.6), with and without the IDP.
  s.entries.clear();
  EXPECT_EQ(HexEncode(Must(Crl::FromDer(Must(BuildCrl(s, ca.signer)))).tbs_der()),
            HexEncode(ReferenceTbs(s, ca.pub)));
}

// req: CA-03
TEST(CrlEncoder, RejectsBadEntries) {
  TestKey ca = NewKey();
  auto code = [&ca](CrlSpec s) { return BuildCrl(s, ca.signer).error().code(); };
  CrlSpec dup = MakeSpec(N("CN=CA"));  // not ascending: the sorting duplicate check
  dup.entries.push_back({Bytes{0x7f}, T0(), {}, {}});
  EXPECT_EQ(code(dup), ErrorCode::kInvalidArgument);
  CrlSpec dup_sorted = MakeSpec(N("CN=CA"));
  dup_sorted.entries = {{Bytes{0x01}, T0(), {}, {}}, {Bytes{0x00, 0x01}, T0(), {}, {}}};
  EXPECT_EQ(code(dup_sorted), ErrorCode::kInvalidArgument);
  CrlSpec zero = MakeSpec(N("CN=CA"));
  zero.entries.push_back({Bytes{0x00}, T0(), {}, {}});
  EXPECT_EQ(code(zero), ErrorCode::kInvalidArgument);
  CrlSpec wide = MakeSpec(N("CN=CA"));
  wide.entries.push_back({Bytes(21, 0x01), T0(), {}, {}});
  EXPECT_EQ(code(wide), ErrorCode::kInvalidArgument);
  CrlSpec reason = MakeSpec(N("CN=CA"));
  reason.entries.push_back({Bytes{0x7e}, T0(), static_cast<RevocationReason>(7), {}});
  EXPECT_EQ(code(reason), ErrorCode::kInvalidArgument);
  CrlSpec old = MakeSpec(N("CN=CA"));
  old.entries.push_back({Bytes{0x7e}, FromUnixSeconds(-700000000), {}, {}});  // 1947
  EXPECT_EQ(code(old), ErrorCode::kInvalidArgument);
  CrlSpec idp = MakeSpec(N("CN=CA"));
  idp.issuing_distribution_point = IssuingDistributionPointValue{};
  EXPECT_EQ(code(idp), ErrorCode::kInvalidArgument);
}

// req: CA-03
TEST(Crl, IssuingDistributionPointParsedBack) {
  TestKey ca = NewKey();
  CrlSpec s = MakeSpec(N("CN=CA"));
  s.issuing_distribution_point =
      IssuingDistributionPointValue{{"http://127.0.0.1:8080/crl/biz-p12.crl"}, true, false};
  Crl crl = Must(Crl::FromDer(Must(BuildCrl(s, ca.signer))));
  ASSERT_TRUE(crl.issuing_distribution_point().has_value());
  EXPECT_EQ(*crl.issuing_distribution_point(), *s.issuing_distribution_point);
  const Extension* e = FindExtension(crl.extensions(), oid::kIssuingDistributionPoint);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->critical);  // RFC 5280 section 5.2.5: MUST be critical
  // Flags round-trip; a full CRL has none.
  IssuingDistributionPointValue ca_only{{"http://x/crl/a.crl", "ldap://x/cn=a"}, false, true};
  EXPECT_EQ(Must(ParseIssuingDistributionPoint(Must(ext::IssuingDistributionPoint(ca_only)).value)),
            ca_only);
  EXPECT_FALSE(ext::IssuingDistributionPoint({{"http://x"}, true, true}).ok());
  s.issuing_distribution_point.reset();
  EXPECT_FALSE(Must(Crl::FromDer(Must(BuildCrl(s, ca.signer)))).issuing_distribution_point());
  // onlySomeReasons [3] is not something this code understands: refused, not ignored.
  Bytes some_reasons = der::Sequence({der::Tlv(der::ContextPrimitive(3), Bytes{0x07, 0x80})});
  EXPECT_EQ(ParseIssuingDistributionPoint(some_reasons).error().code(), ErrorCode::kUnsupported);
}

// req: CA-03
TEST(CrlInterop, OpenSslShowsIssuingDistributionPoint) {
  TestKey ca = NewKey();
  CrlSpec s = MakeSpec(N("C=CN,O=MOHRSS,CN=Business CA"));
  s.issuing_distribution_point =
      IssuingDistributionPointValue{{"http://127.0.0.1:8080/crl/biz-p3.crl"}, true, false};
  TempDir dir;
  dir.Write("p.crl", Must(BuildCrl(s, ca.signer)));
  auto r = RunCommand("openssl crl -inform DER -in " + dir.Path("p.crl") + " -noout -text");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"X509v3 Issuing Distribution Point: critical", "Full Name:",
        "URI:http://127.0.0.1:8080/crl/biz-p3.crl", "Only User Certificates",
        "Serial Number: 0102", "Serial Number: 80", "Serial Number: 7F"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
}

// req: PF-01
TEST(CrlScale, MillionEntries) {
  TestKey ca = NewKey();
  CrlSpec s;
  s.issuer = N("C=CN,O=MOHRSS,CN=Business CA");
  s.this_update = T0();
  s.next_update = Days(1);
  s.crl_number = 7;
  constexpr std::uint32_t kCount = 1000000;
  s.entries.resize(kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    // 16-octet serials as GenerateSerial makes them (0x40.. top octet), ascending.
    Bytes serial(16, 0x5a);
    serial[0] = 0x40;
    for (int k = 0; k < 4; ++k) serial[12 + k] = static_cast<std::uint8_t>(i >> (24 - 8 * k));
    s.entries[i].serial = std::move(serial);
    s.entries[i].revocation_date = T0() - std::chrono::seconds(i);
    if (i % 3 == 0) s.entries[i].reason = RevocationReason::kKeyCompromise;
  }
  auto start = std::chrono::steady_clock::now();
  Bytes der = Must(BuildCrl(s, ca.signer));
  auto built = std::chrono::steady_clock::now() - start;
  Crl crl = Must(Crl::FromDer(der));
  EXPECT_EQ(crl.entries().size(), kCount);
  EXPECT_TRUE(VerifyCrlSignature(crl, ca.pub).ok());
  for (std::uint32_t i : {0u, 1u, 499999u, 999999u}) {
    const RevokedEntry* e = crl.Find(s.entries[i].serial);
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->revocation_date, s.entries[i].revocation_date);
    EXPECT_EQ(e->reason, s.entries[i].reason);
  }
  Bytes absent = s.entries[5].serial;
  absent[5] = 0x5b;
  EXPECT_EQ(crl.Find(absent), nullptr);
  // Generous bound (sanitizer builds, shared machine); bench_crl measures the real figure.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(built).count(), 10000);
}

}  // namespace
}  // namespace gmpki::x509
