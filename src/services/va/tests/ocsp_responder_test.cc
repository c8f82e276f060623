// The OCSP responder over a real CA database (SQLite) and soft device: statuses, error
// answers, several CAs, the pre-signed cache and its invalidation and refresh, nonces, the
// delegated signer certificates, the bulk load, and a throughput sanity figure.
#include <chrono>
#include <cstdio>

#include "services/va/tests/va_test_util.h"
#include "x509/extensions.h"

namespace gmpki::va {
namespace {

using testing::BuildRequest;
using testing::kOp;
using testing::VaFixture;
using x509::OcspCertStatus;

class OcspResponderTest : public VaFixture {};

crypto::Sm2PublicKey SignerKey(const x509::OcspResponse& r) {
  EXPECT_EQ(r.certs.size(), 1u);
  return x509::Certificate::FromDer(r.certs.at(0))->public_key();
}

// req: VA-02
TEST_F(OcspResponderTest, AnswersGoodRevokedHoldAndUnknown) {
  auto good = IssueEe("biz", "Good");
  auto revoked = IssueEe("biz", "Revoked");
  auto held = IssueEe("biz", "Held");
  StartResponder();
  clock_.Advance(std::chrono::seconds(30));
  const TimePoint revoked_at = clock_.Now();
  ASSERT_TRUE(
      ca_->Revoke(kOp, "biz", revoked.record.serial_hex, x509::RevocationReason::kKeyCompromise)
          .ok());
  ASSERT_TRUE(ca_->Hold(kOp, "biz", held.record.serial_hex).ok());
  auto applied = source_->Poll();
  ASSERT_TRUE(applied.ok()) << applied.error().ToString();
  EXPECT_EQ(*applied, 2u);

  const TimePoint now = clock_.Now();
  auto r = Ask({IdFor("biz", good.record.serial_hex)}, now);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].status, OcspCertStatus::kGood);
  EXPECT_EQ(r.responses[0].id, IdFor("biz", good.record.serial_hex));
  EXPECT_EQ(r.responses[0].this_update, now);
  EXPECT_EQ(r.responses[0].next_update, now + std::chrono::hours(1));
  // Signed by the CA's delegated signer, named byKey (RFC 6960 section 4.2.1).
  EXPECT_TRUE(x509::VerifyOcspResponseSignature(r, SignerKey(r)).ok());
  EXPECT_EQ(r.responder_key_hash, x509::OcspResponderKeyHash(SignerKey(r)));
  EXPECT_FALSE(r.responder_name_der);

  r = Ask({IdFor("biz", revoked.record.serial_hex)}, now);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].status, OcspCertStatus::kRevoked);
  EXPECT_EQ(r.responses[0].revocation_time, revoked_at);
  EXPECT_EQ(r.responses[0].reason, x509::RevocationReason::kKeyCompromise);

  // RFC 6960 section 2.2: a certificate on hold is revoked with reason certificateHold.
  r = Ask({IdFor("biz", held.record.serial_hex, x509::oid::kSm3)}, now);
  EXPECT_EQ(r.responses[0].status, OcspCertStatus::kRevoked);
  EXPECT_EQ(r.responses[0].reason, x509::RevocationReason::kCertificateHold);
  EXPECT_EQ(r.responses[0].id.hash_oid, x509::oid::kSm3);

  // A serial the CA never issued: unknown, still signed.
  r = Ask({IdFor("biz", "123456789ABCDEF")}, now);
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.responses[0].status, OcspCertStatus::kUnknown);
  EXPECT_TRUE(x509::VerifyOcspResponseSignature(r, SignerKey(r)).ok());

  // Released from hold: good again once the change is polled.
  ASSERT_TRUE(ca_->Release(kOp, "biz", held.record.serial_hex).ok());
  ASSERT_TRUE(source_->Poll().ok());
  r = Ask({IdFor("biz", held.record.serial_hex, x509::oid::kSha256)}, now);
  EXPECT_EQ(r.responses[0].status, OcspCertStatus::kGood);
}

// req: VA-02
TEST_F(OcspResponderTest, MalformedAndUnauthorized) {
  auto ee = IssueEe("biz", "Someone");
  StartResponder();
  const TimePoint now = clock_.Now();
  auto status_of = [](const OcspAnswer& a) { return x509::ParseOcspResponse(a.body->der)->status; };
  // RFC 6960 section 2.3 / RFC 5019 section 2.2.3.
  OcspAnswer a = responder_->Respond(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}, now);
  EXPECT_EQ(status_of(a), static_cast<int>(x509::OcspResponseStatus::kMalformedRequest));
  EXPECT_FALSE(a.cacheable);
  EXPECT_EQ(status_of(responder_->Respond(Bytes{}, now)), 1);
  EXPECT_EQ(status_of(responder_->RespondGet("not%base64!", now)), 1);
  // An issuer this responder does not serve.
  auto foreign = IdFor("biz", ee.record.serial_hex);
  foreign.issuer_key_hash[0] ^= 0x01;
  a = responder_->Respond(BuildRequest({foreign}), now);
  EXPECT_EQ(status_of(a), static_cast<int>(x509::OcspResponseStatus::kUnauthorized));
  // A hash algorithm we cannot match (MD5) names no CA either.
  auto md5 = foreign;
  md5.hash_oid = "1.2.840.113549.2.5";
  md5.issuer_name_hash.resize(16);
  md5.issuer_key_hash.resize(16);
  EXPECT_EQ(status_of(responder_->Respond(BuildRequest({md5}), now)), 6);
  // A CA known to the index whose signer is not installed.
  OcspResponder bare(index_);
  EXPECT_EQ(status_of(bare.Respond(BuildRequest({IdFor("biz", ee.record.serial_hex)}), now)), 6);
  EXPECT_EQ(responder_->Stats().errors, 5u);
}

// req: VA-02
TEST_F(OcspResponderTest, ManyCasInOneResponder) {
  auto a = IssueEe("biz", "A");
  auto b = IssueEe("biz2", "B");
  StartResponder();
  ASSERT_TRUE(
      ca_->Revoke(kOp, "biz2", b.record.serial_hex, x509::RevocationReason::kAffiliationChanged)
          .ok());
  ASSERT_TRUE(source_->Poll().ok());
  const TimePoint now = clock_.Now();
  auto ra = Ask({IdFor("biz", a.record.serial_hex)}, now);
  auto rb = Ask({IdFor("biz2", b.record.serial_hex)}, now);
  EXPECT_EQ(ra.responses[0].status, OcspCertStatus::kGood);
  EXPECT_EQ(rb.responses[0].status, OcspCertStatus::kRevoked);
  EXPECT_EQ(rb.responses[0].reason, x509::RevocationReason::kAffiliationChanged);
  // Each CA's answer is signed by its own delegated signer, whose certificate that CA issued.
  EXPECT_NE(ra.responder_key_hash, rb.responder_key_hash);
  for (auto [resp, ca] : {std::pair{&ra, "biz"}, std::pair{&rb, "biz2"}}) {
    auto signer_cert = *x509::Certificate::FromDer(resp->certs.at(0));
    EXPECT_EQ(signer_cert.issuer(), CaCert(ca).subject());
    EXPECT_TRUE(x509::VerifyOcspResponseSignature(*resp, signer_cert.public_key()).ok());
  }
  // The CA's own certificate is answered by its parent (the industry CA's signer).
  auto biz_cert = CaCert("biz");
  auto rc = Ask({IdFor("industry", biz_cert.serial_hex())}, now);
  EXPECT_EQ(rc.responses[0].status, OcspCertStatus::kGood);
  // Several CertIDs (signed live): those of the answering CA get their status, one of another
  // CA gets unknown (its delegated signer cannot speak for that CA).
  auto rm = Ask({IdFor("biz", a.record.serial_hex), IdFor("biz2", b.record.serial_hex)}, now);
  ASSERT_EQ(rm.responses.size(), 2u);
  EXPECT_EQ(rm.responses[0].status, OcspCertStatus::kGood);
  EXPECT_EQ(rm.responses[1].status, OcspCertStatus::kUnknown);
  EXPECT_EQ(rm.responder_key_hash, ra.responder_key_hash);
}

// req: VA-02
TEST_F(OcspResponderTest, PresignedResponseReusedUntilStatusChanges) {
  auto ee = IssueEe("biz", "Cached");
  StartResponder();
  const TimePoint t0 = clock_.Now();
  OcspAnswer first, second, third, fourth;
  Ask({IdFor("biz", ee.record.serial_hex)}, t0, std::nullopt, &first);
  Ask({IdFor("biz", ee.record.serial_hex)}, t0 + std::chrono::seconds(20), std::nullopt, &second);
  EXPECT_TRUE(first.cacheable);
  EXPECT_EQ(first.body->der, second.body->der);  // byte-identical: no new signature
  EXPECT_EQ(first.body.get(), second.body.get());
  EXPECT_EQ(responder_->Stats().cache_hits, 1u);
  EXPECT_EQ(responder_->Stats().signed_cached, 1u);
  EXPECT_FALSE(first.body->etag.empty());
  EXPECT_EQ(first.body->last_modified, HttpDate(t0));

  ASSERT_TRUE(
      ca_->Revoke(kOp, "biz", ee.record.serial_hex, x509::RevocationReason::kSuperseded).ok());
  ASSERT_EQ(*source_->Poll(), 1u);
  auto r3 = Ask({IdFor("biz", ee.record.serial_hex)}, t0 + std::chrono::seconds(40), std::nullopt,
                &third);
  EXPECT_NE(third.body->der, first.body->der);
  EXPECT_NE(third.body->etag, first.body->etag);
  EXPECT_EQ(r3.responses[0].status, OcspCertStatus::kRevoked);
  EXPECT_EQ(r3.responses[0].reason, x509::RevocationReason::kSuperseded);
  Ask({IdFor("biz", ee.record.serial_hex)}, t0 + std::chrono::seconds(60), std::nullopt, &fourth);
  EXPECT_EQ(fourth.body->der, third.body->der);
  EXPECT_EQ(responder_->Stats().signed_cached, 2u);
  // Another hash algorithm is another CertID, hence another cached answer.
  Ask({IdFor("biz", ee.record.serial_hex, x509::oid::kSha256)}, t0);
  EXPECT_EQ(responder_->Stats().cache_entries, 2u);
}

// req: VA-02
TEST_F(OcspResponderTest, RefreshedWhenNextUpdateNears) {
  auto ee = IssueEe("biz", "Refresh");
  ResponderSettings s;
  s.validity = std::chrono::hours(1);
  s.refresh_margin = std::chrono::minutes(10);
  StartResponder(s);
  const TimePoint t0 = clock_.Now();
  auto id = IdFor("biz", ee.record.serial_hex);
  OcspAnswer a, b, c, d;
  Ask({id}, t0, std::nullopt, &a);
  Ask({id}, t0 + std::chrono::minutes(49), std::nullopt, &b);  // 11 minutes left: reused
  EXPECT_EQ(a.body.get(), b.body.get());
  auto rc = Ask({id}, t0 + std::chrono::minutes(51), std::nullopt, &c);  // 9 left: re-signed
  EXPECT_NE(c.body->der, a.body->der);
  EXPECT_EQ(rc.responses[0].this_update, t0 + std::chrono::minutes(51));
  EXPECT_EQ(*rc.responses[0].next_update, t0 + std::chrono::minutes(111));

  // The background refresher re-signs ahead of the requests.
  const TimePoint t1 = t0 + std::chrono::minutes(102);
  EXPECT_EQ(responder_->RefreshCache(t0 + std::chrono::minutes(60)), 0u);
  EXPECT_EQ(responder_->RefreshCache(t1), 1u);
  auto hits = responder_->Stats().cache_hits;
  auto rd = Ask({id}, t1, std::nullopt, &d);
  EXPECT_EQ(responder_->Stats().cache_hits, hits + 1);
  EXPECT_EQ(rd.responses[0].this_update, t1);
}

// req: VA-02
TEST_F(OcspResponderTest, NonceEchoedAndSignedLive) {
  auto ee = IssueEe("biz", "Nonce");
  StartResponder();
  const TimePoint now = clock_.Now();
  auto id = IdFor("biz", ee.record.serial_hex);
  Bytes n1 = *crypto::RandomBytes(16), n2 = *crypto::RandomBytes(32);
  OcspAnswer a, b;
  auto ra = Ask({id}, now, n1, &a);
  auto rb = Ask({id}, now, n2, &b);
  EXPECT_EQ(ra.nonce, n1);
  EXPECT_EQ(rb.nonce, n2);
  EXPECT_FALSE(a.cacheable);
  EXPECT_NE(a.body->der, b.body->der);
  EXPECT_TRUE(x509::VerifyOcspResponseSignature(ra, SignerKey(ra)).ok());
  auto st = responder_->Stats();
  EXPECT_EQ(st.signed_live, 2u);
  EXPECT_EQ(st.cache_entries, 0u);
  // A nonce of 33 octets is malformed (RFC 8954 section 2.1).
  OcspAnswer bad = responder_->Respond(BuildRequest({id}, Bytes(33, 7)), now);
  EXPECT_EQ(x509::ParseOcspResponse(bad.body->der)->status, 1);
}

// req: VA-02
TEST_F(OcspResponderTest, SignerCertificateIsDelegatedAndRenewed) {
  auto first = signers_->Provision(kOp, *ca_, "biz");
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto cert = *x509::Certificate::FromDer(first->cert_der);
  // RFC 6960 section 4.2.2.2: id-kp-OCSPSigning; 4.2.2.2.1: id-pkix-ocsp-nocheck.
  EXPECT_EQ(cert.ext_key_usage(), std::vector<std::string>{std::string(x509::oid::kKpOcspSigning)});
  const x509::Extension* nocheck = cert.FindExtension(x509::oid::kOcspNoCheck);
  ASSERT_NE(nocheck, nullptr);
  EXPECT_FALSE(nocheck->critical);
  const x509::Extension* ku = cert.FindExtension(x509::oid::kKeyUsage);
  ASSERT_NE(ku, nullptr);
  EXPECT_TRUE(ku->critical);
  EXPECT_EQ(*cert.key_usage(), x509::kDigitalSignature);
  EXPECT_FALSE(cert.is_ca());
  EXPECT_EQ(cert.subject().Get("CN"), "biz OCSP Signer");
  EXPECT_LE(cert.not_after() - cert.not_before(), std::chrono::hours(24 * 30 + 1));
  auto ca_cert = CaCert("biz");
  EXPECT_EQ(cert.issuer(), ca_cert.subject());
  EXPECT_TRUE(
      x509::VerifySm2Signature(ca_cert.public_key(), cert.tbs_der(), cert.signature()).ok());
  EXPECT_EQ(first->signer.public_key, cert.public_key());
  // The signer signs with the device key behind the certificate.
  auto sig = first->signer.sign(AsBytes("hello"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(x509::VerifySm2Signature(cert.public_key(), AsBytes("hello"), *sig).ok());

  // Reused while valid (and found again by a reader), renewed when it nears expiry.
  auto again = signers_->Provision(kOp, *ca_, "biz");
  EXPECT_EQ(again->cert_der, first->cert_der);
  EXPECT_EQ(signers_->Load("biz")->cert_der, first->cert_der);
  clock_.Advance(std::chrono::hours(24 * 24));
  auto renewed = signers_->Provision(kOp, *ca_, "biz");
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_NE(renewed->cert_der, first->cert_der);
  EXPECT_EQ(signers_->History("biz")->size(), 2u);
  EXPECT_EQ(signers_->Load("biz")->cert_der, renewed->cert_der);
  // Refusals: an unknown CA, an actor without the permission.
  EXPECT_FALSE(signers_->Provision(kOp, *ca_, "nope").ok());
  EXPECT_EQ(signers_->Provision({"aud", services::Role::kAuditAdmin}, *ca_, "biz2").error().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(signers_->Load("biz2").error().code(), ErrorCode::kNotFound);
  clock_.Advance(std::chrono::hours(24 * 40));
  EXPECT_EQ(signers_->Load("biz").error().code(), ErrorCode::kFailedPrecondition);
}

// req: VA-02
TEST_F(OcspResponderTest, PresignWarmsTheCache) {
  for (int i = 0; i < 5; ++i) IssueEe("biz2", "Warm " + std::to_string(i));
  StartResponder();
  const TimePoint now = clock_.Now();
  // The CA's certificates: the five and its own OCSP signer's (also answered for).
  auto certs = ca_->Search(kOp, ca::CertQuery{.ca = "biz2"});
  ASSERT_TRUE(certs.ok());
  ASSERT_EQ(certs->size(), 6u);
  auto n = responder_->Presign("biz2", now);
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 6u);
  EXPECT_EQ(*responder_->Presign("biz2", now), 0u);  // all fresh already
  EXPECT_EQ(responder_->Presign("nope", now).error().code(), ErrorCode::kNotFound);
  for (const auto& c : *certs) {
    auto r = Ask({IdFor("biz2", c.serial_hex)}, now + std::chrono::seconds(1));
    EXPECT_EQ(r.responses[0].status, OcspCertStatus::kGood);
  }
  EXPECT_EQ(responder_->Stats().cache_hits, certs->size());
  EXPECT_EQ(responder_->Stats().signed_cached, 6u);
}

// req: PF-01
TEST_F(OcspResponderTest, BulkLoadPagesAndPollPicksUpNewCertificates) {
  // 20,000 synthetic certificate rows written straight into the CA's table (the load reads
  // only the status columns), loaded in pages of 999.
  constexpr int kRows = 20000;
  {
    auto begun = db().Begin();
    ASSERT_TRUE(begun.ok());
    auto tx = std::move(*begun);
    for (int base = 0; base < kRows; base += 500) {
      std::vector<store::Value> params;
      for (int i = base; i < base + 500; ++i) {
        char sn[24];
        std::snprintf(sn, sizeof sn, "7%015X", i);
        bool rev = i % 10 == 0;
        for (store::Value v : std::vector<store::Value>{
                 std::string("biz"), std::string(sn), std::string("CN=x"),
                 std::string("personal-sign"), std::string(rev ? "revoked" : "good"),
                 rev ? store::Value(std::int64_t{1}) : store::Value(store::Null{}),
                 rev ? store::Value(std::int64_t{1700000000}) : store::Value(store::Null{}),
                 std::int64_t{1}, std::int64_t{2000000000}, std::int64_t{1}, std::string("t"),
                 std::string("k"), Bytes{0x30}}) {
          params.push_back(std::move(v));
        }
      }
      ASSERT_TRUE(tx->Exec("INSERT INTO certificates (ca, serial_hex, subject, profile, status, "
                           "reason, revoked_unix, not_before, not_after, issued_unix, "
                           "requested_by, key_id, der) VALUES " +
                               store::ValuesPlaceholders(500, 13),
                           params)
                      .ok());
    }
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto t0 = std::chrono::steady_clock::now();
  auto st = source_->LoadAll(999);
  auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  std::printf("[va] bulk load of %zu rows: %.0f ms (%.0f rows/s)\n", st->certificates, ms,
              st->certificates / ms * 1000);
  // The CA certificates of industry, biz, biz2 are rows too.
  EXPECT_EQ(st->certificates, static_cast<std::size_t>(kRows) + 3);
  EXPECT_EQ(st->cas, 4u);
  EXPECT_EQ(index_.size(), st->certificates);
  auto e = index_.Lookup("biz", *SerialOctets("700000000000000A"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, CertState::kRevoked);
  EXPECT_EQ(e->revoked_unix, 1700000000);

  // Poll applies certificates issued after the load, and a CA created after it.
  auto fresh = IssueEe("biz", "After Load");
  ASSERT_TRUE(ca_->CreateSubordinate(testing::kSec, "industry", "biz3", "C=CN,O=Test,CN=Biz3",
                                     "business", 365)
                  .ok());
  auto late = IssueEe("biz3", "Late");
  auto polled = source_->Poll();
  ASSERT_TRUE(polled.ok()) << polled.error().ToString();
  EXPECT_EQ(*polled, 3u);  // biz3's own certificate, and two end-entity certificates
  EXPECT_TRUE(index_.Lookup("biz", *SerialOctets(fresh.record.serial_hex)));
  EXPECT_TRUE(index_.Lookup("biz3", *SerialOctets(late.record.serial_hex)));
  EXPECT_EQ(index_.IssuerNames().size(), 5u);
  EXPECT_EQ(*source_->Poll(), 0u);
}

// req: PF-01
TEST_F(OcspResponderTest, PresignedThroughputSanity) {
  auto ee = IssueEe("biz", "Hot");
  StartResponder();
  const TimePoint now = clock_.Now();
  Bytes req = BuildRequest({IdFor("biz", ee.record.serial_hex)});
  auto warm = responder_->Respond(req, now);
  ASSERT_TRUE(warm.cacheable);
  constexpr int kCalls = 1000000;
  std::size_t bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    auto a = responder_->Respond(req, now);
    bytes += a.body->der.size();
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[va] %d pre-signed Respond() calls on one thread: %.2f s, %.0f responses/s\n",
              kCalls, s, kCalls / s);
  EXPECT_EQ(bytes, warm.body->der.size() * kCalls);
  EXPECT_EQ(responder_->Stats().cache_hits, static_cast<std::uint64_t>(kCalls));
}

}  // namespace
}  // namespace gmpki::va
