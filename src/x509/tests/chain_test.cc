#include <gtest/gtest.h>

#include <algorithm>

#include "x509/chain.h"
#include "x509/der.h"
#include "x509/tests/test_util.h"

namespace gmpki::x509 {
namespace {

using namespace testing;

ChainOptions At(TimePoint t, std::vector<Crl> crls = {}) {
  ChainOptions o;
  o.at = t;
  o.crls = std::move(crls);
  return o;
}

Crl RevokeIn(const Certificate& cert, const Name& issuer, const Signer& signer,
             RevocationReason reason, std::optional<std::uint64_t> delta_base = {}) {
  CrlSpec s;
  s.issuer = issuer;
  s.this_update = T0();
  s.next_update = Days(7);
  s.crl_number = delta_base ? *delta_base + 1 : 1;
  s.delta_base = delta_base;
  s.entries.push_back({cert.serial(), Days(-1), reason, {}});
  return Must(Crl::FromDer(Must(BuildCrl(s, signer))));
}

// req: CA-02
// req: HI-01
TEST(Chain, FourLevelChainVerifies) {
  Chain4 c;
  auto path = Must(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0())));
  ASSERT_EQ(path.size(), 4u);
  EXPECT_EQ(path[0].der(), c.ee.der());
  EXPECT_EQ(path[1].der(), c.business.der());
  EXPECT_EQ(path[2].der(), c.industry.der());
  EXPECT_EQ(path[3].der(), c.root.der());
  // Intermediates in any order; a CA certificate can be a leaf too.
  EXPECT_TRUE(VerifyChain(c.ee, {c.industry, c.business}, {c.root}, At(T0())).ok());
  EXPECT_TRUE(VerifyChain(c.business, {c.industry}, {c.root}, At(T0())).ok());
  // With the industry CA as the trust anchor (as an imported national-root chain allows).
  EXPECT_EQ(Must(VerifyChain(c.ee, {c.business}, {c.industry}, At(T0()))).size(), 3u);
}

// req: CA-02
TEST(Chain, MissingIntermediateOrAnchorIsUntrusted) {
  Chain4 c;
  auto r = VerifyChain(c.ee, {c.business}, {c.root}, At(T0()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("untrusted"), std::string::npos);
  Chain4 other;
  EXPECT_FALSE(VerifyChain(c.ee, {c.business, c.industry}, {other.root}, At(T0())).ok());
  EXPECT_EQ(VerifyChain(c.ee, {}, {}, At(T0())).error().code(), ErrorCode::kInvalidArgument);
}

// req: CA-02
TEST(Chain, TamperedIntermediateIsBadSignature) {
  Chain4 c;
  // Move the industry CA's notAfter by one second: names still chain, the signature breaks.
  Bytes bad = c.industry.der();
  Bytes not_after = Must(der::Time(Days(3000)));
  auto it = std::search(bad.begin(), bad.end(), not_after.begin(), not_after.end());
  ASSERT_NE(it, bad.end());
  *(it + static_cast<std::ptrdiff_t>(not_after.size()) - 2) = '1';
  Certificate industry_bad = Must(Certificate::FromDer(bad));
  EXPECT_EQ(industry_bad.not_after(), Days(3000) + std::chrono::seconds(1));
  auto r = VerifyChain(c.ee, {c.business, industry_bad}, {c.root}, At(T0()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kBadSignature) << r.error().ToString();
  // A tampered trust anchor fails its self-signature check (check_ss_sig).
  Bytes root_bad = c.root.der();
  Bytes root_na = Must(der::Time(Days(3650)));
  auto rt = std::search(root_bad.begin(), root_bad.end(), root_na.begin(), root_na.end());
  ASSERT_NE(rt, root_bad.end());
  *(rt + static_cast<std::ptrdiff_t>(root_na.size()) - 2) = '1';
  Certificate root_tampered = Must(Certificate::FromDer(root_bad));
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {root_tampered}, At(T0())).error().code(),
            ErrorCode::kBadSignature);
}

// req: CA-02
TEST(Chain, WrongIdSignatureFails) {
  Chain4 c;
  TestKey empty_id{c.business_key.priv, c.business_key.pub,
                   MakeSoftwareSigner(c.business_key.priv, c.business_key.pub, "")};
  Certificate ee = Must(Certificate::FromDer(IssueTestCert(
      c.ee_name, c.ee_key.pub, c.business_name, empty_id.signer, false, {}, Days(-1), Days(30))));
  auto r = VerifyChain(ee, {c.business, c.industry}, {c.root}, At(T0()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kBadSignature);
}

// req: CA-02
TEST(Chain, ExpiredAndNotYetValid) {
  Chain4 c;
  auto expired = VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(Days(400)));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
  auto early = VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(Days(-5)));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(early.error().message().find("not yet valid"), std::string::npos);
  // An expired intermediate fails too.
  auto mid = VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(Days(2500)));
  EXPECT_FALSE(mid.ok());
}

// req: CA-02
TEST(Chain, CaConstraintsEnforced) {
  Chain4 c;
  // The EE (not a CA) used as an issuer.
  TestKey k = NewKey();
  Certificate under_ee = Must(Certificate::FromDer(IssueTestCert(
      N("CN=under ee"), k.pub, c.ee_name, c.ee_key.signer, false, {}, Days(-1), Days(30))));
  auto r = VerifyChain(under_ee, {c.ee, c.business, c.industry}, {c.root}, At(T0()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kPolicyViolation);
  // business has pathLen 0: a sub-CA under it, then a leaf, violates it.
  TestKey sub = NewKey();
  Name sub_name = N("CN=Sub CA");
  Certificate sub_ca = Must(Certificate::FromDer(IssueTestCert(
      sub_name, sub.pub, c.business_name, c.business_key.signer, true, {}, Days(-1), Days(30))));
  Certificate leaf = Must(Certificate::FromDer(IssueTestCert(
      N("CN=leaf"), k.pub, sub_name, sub.signer, false, {}, Days(-1), Days(30))));
  auto p = VerifyChain(leaf, {sub_ca, c.business, c.industry}, {c.root}, At(T0()));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), ErrorCode::kPolicyViolation);
  EXPECT_NE(p.error().message().find("pathLen"), std::string::npos) << p.error().message();
  // A CA certificate without keyCertSign.
  TbsSpec spec;
  spec.serial = Bytes{0x05};
  spec.issuer = c.root_name;
  spec.subject = N("CN=No CertSign CA");
  spec.not_before = Days(-1);
  spec.not_after = Days(30);
  spec.subject_public_key = sub.pub;
  spec.extensions = {ext::BasicConstraints(true), Must(ext::KeyUsage(kCrlSign))};
  Certificate nocs = Must(Certificate::FromDer(Must(IssueCertificate(spec, c.root_key.signer))));
  Certificate leaf2 = Must(Certificate::FromDer(IssueTestCert(
      N("CN=leaf2"), k.pub, spec.subject, sub.signer, false, {}, Days(-1), Days(30))));
  auto q = VerifyChain(leaf2, {nocs}, {c.root}, At(T0()));
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code(), ErrorCode::kPolicyViolation);
}

// OpenSSL's X509_verify_cert runs after our checks and catches what they do not model.
// req: CA-02
TEST(Chain, UnknownCriticalExtensionRejectedByOpenSslLayer) {
  Chain4 c;
  Certificate ee = Must(Certificate::FromDer(IssueTestCert(
      N("CN=critical"), c.ee_key.pub, c.business_name, c.business_key.signer, false, {},
      Days(-1), Days(30), {Extension{"1.2.3.4.5", true, der::Null()}})));
  auto r = VerifyChain(ee, {c.business, c.industry}, {c.root}, At(T0()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kPolicyViolation);
  EXPECT_NE(r.error().message().find("OpenSSL"), std::string::npos) << r.error().message();
}

// req: CA-03
TEST(Chain, RevokedViaCrl) {
  Chain4 c;
  Crl crl = RevokeIn(c.ee, c.business_name, c.business_key.signer,
                     RevocationReason::kKeyCompromise);
  auto r = VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0(), {crl}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("revoked"), std::string::npos);
  EXPECT_NE(r.error().message().find("keyCompromise"), std::string::npos);
  // An intermediate revoked by the industry CA's CRL.
  Crl mid = RevokeIn(c.business, c.industry_name, c.industry_key.signer,
                     RevocationReason::kCaCompromise);
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0(), {mid}))
                .error()
                .code(),
            ErrorCode::kConflict);
  // A CRL that does not list the EE; and require_crls.
  Crl other = RevokeIn(c.business, c.business_name, c.business_key.signer,
                       RevocationReason::kSuperseded);
  EXPECT_TRUE(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0(), {other})).ok());
  ChainOptions strict = At(T0(), {other});
  strict.require_crls = true;
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, strict).error().code(),
            ErrorCode::kFailedPrecondition);
  // A stale CRL.
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(Days(8), {other}))
                .error()
                .code(),
            ErrorCode::kFailedPrecondition);
}

// A partition CRL (issuingDistributionPoint) covers only the certificates whose
// cRLDistributionPoints name it (RFC 5280 §6.3.3 (b)): it can neither revoke a certificate of
// another partition nor count as the CRL that covers it.
// req: CA-03
TEST(Chain, PartitionCrlCoversOnlyItsOwnCertificates) {
  Chain4 c;
  const std::string p1 = "http://127.0.0.1/crl/biz-p1.crl", p2 = "http://127.0.0.1/crl/biz-p2.crl";
  Certificate in_p1 = Must(Certificate::FromDer(IssueTestCert(
      c.ee_name, c.ee_key.pub, c.business_name, c.business_key.signer, false, std::nullopt, Days(-1),
      Days(365), {Must(ext::CrlDistributionPoints({p1}))})));
  Certificate in_p2 = Must(Certificate::FromDer(IssueTestCert(
      c.ee_name, c.ee_key.pub, c.business_name, c.business_key.signer, false, std::nullopt, Days(-1),
      Days(365), {Must(ext::CrlDistributionPoints({p2}))})));
  auto partition_crl = [&](const Name& issuer, const Signer& signer, const std::string& uri,
                           std::vector<Bytes> serials) {
    CrlSpec s;
    s.issuer = issuer;
    s.this_update = T0();
    s.next_update = Days(7);
    s.crl_number = 1;
    std::sort(serials.begin(), serials.end());
    for (const auto& sn : serials) s.entries.push_back({sn, Days(-1), RevocationReason::kKeyCompromise, {}});
    s.issuing_distribution_point = IssuingDistributionPointValue{{uri}, true, false};
    return Must(Crl::FromDer(Must(BuildCrl(s, signer))));
  };
  const Name& biz = c.business_name;
  const Signer& biz_signer = c.business_key.signer;
  // Full CRLs (no IDP) of the two levels above, listing nothing relevant.
  Crl industry_full = RevokeIn(c.ee, c.industry_name, c.industry_key.signer, RevocationReason::kSuperseded);
  Crl root_full = RevokeIn(c.ee, c.root_name, c.root_key.signer, RevocationReason::kSuperseded);
  // Partition 1's CRL lists both serials: it revokes its own certificate only.
  Crl crl1 = partition_crl(biz, biz_signer, p1, {in_p1.serial(), in_p2.serial()});
  EXPECT_EQ(VerifyChain(in_p1, {c.business, c.industry}, {c.root}, At(T0(), {crl1})).error().code(),
            ErrorCode::kConflict);
  EXPECT_TRUE(VerifyChain(in_p2, {c.business, c.industry}, {c.root}, At(T0(), {crl1})).ok());
  // With require_crls, partition 1's CRL is not a CRL for partition 2's certificate...
  ChainOptions strict = At(T0(), {crl1, industry_full, root_full});
  strict.require_crls = true;
  EXPECT_EQ(VerifyChain(in_p2, {c.business, c.industry}, {c.root}, strict).error().code(),
            ErrorCode::kFailedPrecondition);
  // ...its own partition's CRL is, and no partition CRL covers a certificate without CRL
  // distribution points.
  strict.crls = {partition_crl(biz, biz_signer, p2, {}), industry_full, root_full};
  EXPECT_TRUE(VerifyChain(in_p2, {c.business, c.industry}, {c.root}, strict).ok());
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, strict).error().code(),
            ErrorCode::kFailedPrecondition);
  // onlyContainsUserCerts: an industry-CA partition CRL listing the business CA neither revokes
  // nor covers that CA certificate.
  Crl industry_users = partition_crl(c.industry_name, c.industry_key.signer, p1, {c.business.serial()});
  strict.crls = {partition_crl(biz, biz_signer, p1, {}), industry_users, root_full};
  EXPECT_EQ(VerifyChain(in_p1, {c.business, c.industry}, {c.root}, strict).error().code(),
            ErrorCode::kFailedPrecondition);
}

// req: CA-03
TEST(Chain, CrlWithBadSignatureOrWrongIdFails) {
  Chain4 c;
  // Same issuer name, signed with the wrong ID (what OpenSSL 3.0's default would produce).
  Crl wrong_id = RevokeIn(c.ee, c.business_name,
                          MakeSoftwareSigner(c.business_key.priv, c.business_key.pub, ""),
                          RevocationReason::kKeyCompromise);
  auto r = VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0(), {wrong_id}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kBadSignature);
}

// req: CA-03
TEST(Chain, DeltaCrlRevokesAndReleasesHold) {
  Chain4 c;
  Crl base_hold = RevokeIn(c.ee, c.business_name, c.business_key.signer,
                           RevocationReason::kCertificateHold);
  Crl delta_release = RevokeIn(c.ee, c.business_name, c.business_key.signer,
                               RevocationReason::kRemoveFromCrl, 1);
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0(), {base_hold}))
                .error()
                .code(),
            ErrorCode::kConflict);
  EXPECT_TRUE(VerifyChain(c.ee, {c.business, c.industry}, {c.root},
                          At(T0(), {base_hold, delta_release}))
                  .ok());
  Crl delta_revoke = RevokeIn(c.ee, c.business_name, c.business_key.signer,
                              RevocationReason::kKeyCompromise, 1);
  EXPECT_EQ(VerifyChain(c.ee, {c.business, c.industry}, {c.root}, At(T0(), {delta_revoke}))
                .error()
                .code(),
            ErrorCode::kConflict);
}

// OpenSSL 3.0's CLI applies -vfyopt distid only to the leaf, so a 2-level chain is the one
// it can check independently (STANDARDS-NOTES section 8.1).
// req: CA-02
TEST(ChainInterop, OpenSslVerifiesTwoLevelChainWithDistid) {
  Chain4 c;
  Certificate leaf = Must(Certificate::FromDer(IssueTestCert(
      N("C=CN,CN=Direct"), c.ee_key.pub, c.root_name, c.root_key.signer, false, {}, Days(-1),
      Days(30))));
  TempDir dir;
  dir.Write("root.pem", c.root.ToPem());
  dir.Write("leaf.pem", leaf.ToPem());
  const std::string base = "openssl verify -attime " + std::to_string(ToUnixSeconds(T0())) +
                           " -CAfile " + dir.Path("root.pem") + " ";
  auto ok = RunCommand(base + "-vfyopt distid:1234567812345678 " + dir.Path("leaf.pem"));
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find(": OK"), std::string::npos) << ok.output;
  // Without the ID, OpenSSL 3.0 uses the empty ID and rejects our (GM/T) signature.
  auto no_id = RunCommand(base + dir.Path("leaf.pem"));
  EXPECT_NE(no_id.status, 0) << no_id.output;
  // 3-level chains fail in the CLI even with distid (the intermediate gets the empty ID);
  // VerifyChain handles them (FourLevelChainVerifies).
  dir.Write("ee.pem", c.ee.ToPem());
  dir.Write("untrusted.pem", CertificatesToPem({c.business, c.industry}));
  auto three = RunCommand(base + "-untrusted " + dir.Path("untrusted.pem") +
                          " -vfyopt distid:1234567812345678 " + dir.Path("ee.pem"));
  EXPECT_NE(three.status, 0) << three.output;
}

}  // namespace
}  // namespace gmpki::x509
