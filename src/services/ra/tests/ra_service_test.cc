// The RA service on both storage backends against a real CA: registration points, subscriber
// records under the four-eyes rule, personal data sealed and masked, certificate requests
// issued exactly once, and refusals that change nothing (issue #4 items 1, 5, 7).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "services/ra/tests/ra_fixture.h"
#include "x509/certificate.h"
#include "x509/pkcs7.h"

namespace gmpki::ra {
namespace {

using namespace testing;  // NOLINT: the RA test helpers
using store::testutil::BackendTest;

template <class B>
class RaServiceTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    env_.SetUp(B::kBackend, this->db());
  }
  void TearDown() override {
    env_.TearDown();
    BackendTest<B>::TearDown();
  }
  RaService& ra() { return *env_.ra_; }
  std::vector<audit::AuditRecord> Audit() {
    auto tx = this->db().BeginReadOnly();
    audit::AuditQuery q;
    q.limit = 10000;
    auto recs = audit::SearchAudit(**tx, q);
    EXPECT_TRUE(recs.ok());
    return *recs;
  }
  RaEnv env_;
};
TYPED_TEST_SUITE(RaServiceTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: RA-02
TYPED_TEST(RaServiceTest, OnlyOperatorsBoundToAnActivePointMayAct) {
  auto& ra = this->ra();
  auto in = Person("王五", ResidentId(1));
  // Dave is an ra-operator but not bound to any point of this RA.
  EXPECT_EQ(ra.EnterSubscriber(kDave, in).error().code(), ErrorCode::kPermissionDenied);
  // Points are the system administrator's: an ra-operator cannot create or bind.
  EXPECT_EQ(ra.CreatePoint(kAlice, "rogue", "", "").error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ra.BindOperator(kAlice, "dave", "chaoyang-01").error().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(ra.CreatePoint(kSys, "chaoyang-01", "", "").error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ra.CreatePoint(kSys, "bad name", "", "").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ra.BindOperator(kSys, "dave", "nowhere").error().code(), ErrorCode::kNotFound);

  // A suspended point stops its operators; resuming lets them act again.
  ASSERT_TRUE(ra.SetPointActive(kSys, "chaoyang-01", false).ok());
  EXPECT_EQ(ra.EnterSubscriber(kAlice, in).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(this->env_.RaCount("ra_subscribers"), 0);
  EXPECT_EQ(ra.SetPointActive(kSys, "chaoyang-01", false).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(ra.SetPointActive(kSys, "chaoyang-01", true).ok());
  auto s = ra.EnterSubscriber(kAlice, in);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->point, "chaoyang-01");

  // Moving an operator to another point; unbinding stops it.
  ASSERT_TRUE(ra.CreatePoint(kSys, "haidian-02", "Haidian", "Beijing").ok());
  ASSERT_TRUE(ra.BindOperator(kSys, "dave", "haidian-02").ok());
  auto points = ra.ListPoints(kSys);
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 2u);
  EXPECT_EQ((*points)[0].operators, (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ((*points)[1].operators, (std::vector<std::string>{"dave"}));
  ASSERT_TRUE(ra.UnbindOperator(kSys, "dave").ok());
  EXPECT_EQ(ra.ListSubscribers(kDave, {}).error().code(), ErrorCode::kPermissionDenied);

  // Audit records name the point; refusals are audited as failures.
  bool named_point = false, refusal = false;
  for (const auto& r : this->Audit()) {
    if (r.event.action == "ra.subscriber.enter" && r.event.outcome == audit::Outcome::kSuccess) {
      named_point = r.event.detail.find("\"point\":\"chaoyang-01\"") != std::string::npos;
    }
    if (r.event.actor == "dave" && r.event.outcome == audit::Outcome::kFailure) refusal = true;
  }
  EXPECT_TRUE(named_point);
  EXPECT_TRUE(refusal);
}

// req: RA-01, CC-FPR
TYPED_TEST(RaServiceTest, InvalidIdentifiersAreRefusedAndNothingIsWritten) {
  auto& ra = this->ra();
  std::string good = ResidentId(2);
  std::string bad = good;
  bad[17] = bad[17] == '0' ? '1' : '0';  // wrong GB 11643 check character
  auto r = ra.EnterSubscriber(kAlice, Person("李四", bad));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("check character"), std::string::npos);
  EXPECT_EQ(r.error().message().find(bad), std::string::npos);  // the number is never echoed
  // GB 32100-2015: a wrong check character, a forbidden letter, a wrong length.
  std::string uscc = kUsccHuawei;
  uscc[17] = '7';
  EXPECT_EQ(ra.EnterSubscriber(kAlice, Organization("华为", uscc)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ra.EnterSubscriber(kAlice, Organization("X", "91440300192203821I")).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ra.EnterSubscriber(kAlice, Organization("X", "9144030019220382")).error().code(),
            ErrorCode::kInvalidArgument);
  // Fields that do not belong to the kind, a device without an owning organisation.
  auto mixed = Person("赵六", good);
  mixed.uscc = kUsccHuawei;
  EXPECT_EQ(ra.EnterSubscriber(kAlice, mixed).error().code(), ErrorCode::kInvalidArgument);
  SubscriberInput dev{"device", "Card reader"};
  dev.device_serial = "CR-0001";
  dev.owner = "sub-0000000000000000";
  EXPECT_EQ(ra.EnterSubscriber(kAlice, dev).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->env_.RaCount("ra_subscribers"), 0);

  EXPECT_TRUE(NormalizeUscc(kUsccHuawei).ok());
  EXPECT_TRUE(NormalizeUscc(kUsccAlibaba).ok());
  EXPECT_EQ(*NormalizeUscc("9144030071526726xg"), kUsccTencent);
}

// req: RA-01
TYPED_TEST(RaServiceTest, DuplicateSubscribersAreRefusedWithNothingWritten) {
  auto& ra = this->ra();
  std::string id = ResidentId(3);
  ASSERT_TRUE(ra.EnterSubscriber(kAlice, Person("张三", id)).ok());
  // Same number typed with a lower-case or padded form is the same person.
  auto dup = ra.EnterSubscriber(kBob, Person("张叁", " " + id + " "));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().message().find(id), std::string::npos);
  auto org = ra.EnterSubscriber(kAlice, Organization("华为技术有限公司", kUsccHuawei));
  ASSERT_TRUE(org.ok());
  EXPECT_EQ(ra.EnterSubscriber(kBob, Organization("Huawei", kUsccHuawei)).error().code(),
            ErrorCode::kAlreadyExists);
  SubscriberInput dev{"device", "Card reader"};
  dev.device_serial = "cr-0001";
  dev.owner = org->id;
  ASSERT_TRUE(ra.EnterSubscriber(kAlice, dev).ok());
  dev.device_serial = "CR-0001";
  EXPECT_EQ(ra.EnterSubscriber(kAlice, dev).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(this->env_.RaCount("ra_subscribers"), 3);
  // Modifying another record into a duplicate is refused too, leaving it unchanged.
  auto other = ra.EnterSubscriber(kAlice, Person("李四", ResidentId(4)));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(ra.ModifySubscriber(kBob, other->id, Person("李四", id)).error().code(),
            ErrorCode::kAlreadyExists);
  auto still = ra.GetSubscriber(kCarol, other->id, true);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->id_number, ResidentId(4));
  EXPECT_EQ(still->modified_by, "");
}

// req: RA-01
TYPED_TEST(RaServiceTest, FourEyesOnRecordsAndRejectionWithReason) {
  auto& ra = this->ra();
  auto s = ra.EnterSubscriber(kAlice, Person("周七", ResidentId(5)));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, "pending");
  EXPECT_EQ(ra.ReviewSubscriber(kAlice, s->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  EXPECT_EQ(ra.ReviewSubscriber(kBob, s->id, {false, ""}).error().code(),
            ErrorCode::kInvalidArgument);  // a rejection needs a reason
  auto rej = ra.ReviewSubscriber(kBob, s->id, {false, "ID photo unreadable"});
  ASSERT_TRUE(rej.ok());
  EXPECT_EQ(rej->status, "rejected");
  EXPECT_EQ(rej->review_reason, "ID photo unreadable");
  EXPECT_EQ(rej->reviewed_by, "bob");
  EXPECT_EQ(ra.ReviewSubscriber(kCarol, s->id, {true, ""}).error().code(), ErrorCode::kConflict);

  // Carol corrects the record: it goes back to review, and now neither she (modifier) nor
  // alice (who entered it) may review it.
  auto in = Person("周七", ResidentId(5));
  in.phone = "13900139000";
  auto mod = ra.ModifySubscriber(kCarol, s->id, in);
  ASSERT_TRUE(mod.ok()) << mod.error().ToString();
  EXPECT_EQ(mod->status, "pending");
  EXPECT_EQ(mod->modified_by, "carol");
  EXPECT_EQ(mod->review_reason, "");
  EXPECT_EQ(ra.ReviewSubscriber(kCarol, s->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  EXPECT_EQ(ra.ReviewSubscriber(kAlice, s->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  auto ok = ra.ReviewSubscriber(kBob, s->id, {true, "documents checked"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, "approved");
  auto in2 = in;
  in2.kind = "organization";
  EXPECT_EQ(ra.ModifySubscriber(kBob, s->id, in2).error().code(), ErrorCode::kInvalidArgument);
}

// req: RA-01, CC-FPR
TYPED_TEST(RaServiceTest, ListingsMaskPersonalNumbersAndDisclosureIsAudited) {
  auto& ra = this->ra();
  std::string id = ResidentId(6);
  auto s = ra.EnterSubscriber(kAlice, Person("欧阳娜娜", id));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(ra.EnterSubscriber(kAlice, Person("欧阳修", ResidentId(7))).ok());
  ASSERT_TRUE(ra.EnterSubscriber(kAlice, Person("王五", ResidentId(8))).ok());
  ASSERT_TRUE(ra.EnterSubscriber(kAlice, Organization("腾讯科技", kUsccTencent)).ok());
  EXPECT_EQ(s->id_number, MaskIdentifier(id));
  EXPECT_EQ(s->social_security, MaskIdentifier(Ssn(id)));
  EXPECT_EQ(s->phone, "138******00");
  EXPECT_EQ(s->address, "北京市朝阳区***");
  EXPECT_FALSE(s->revealed);

  auto all = ra.ListSubscribers(kBob, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  for (const auto& v : *all) EXPECT_EQ(v.id_number.find(id), std::string::npos);

  SubscriberQuery by_id;
  by_id.id_kind = "resident-id";
  by_id.id_number = id;
  auto found = ra.ListSubscribers(kBob, by_id);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id, s->id);
  SubscriberQuery by_ssn;
  by_ssn.social_security = "ss" + id.substr(10);
  ASSERT_EQ(ra.ListSubscribers(kBob, by_ssn)->size(), 1u);
  SubscriberQuery by_uscc;
  by_uscc.uscc = kUsccTencent;
  ASSERT_EQ(ra.ListSubscribers(kBob, by_uscc)->size(), 1u);
  SubscriberQuery prefix;
  prefix.name_prefix = "欧阳";
  EXPECT_EQ(ra.ListSubscribers(kBob, prefix)->size(), 2u);
  SubscriberQuery page;
  page.kind = "person";
  page.limit = 2;
  page.offset = 2;
  EXPECT_EQ(ra.ListSubscribers(kBob, page)->size(), 1u);
  page.limit = 0;
  EXPECT_EQ(ra.ListSubscribers(kBob, page).error().code(), ErrorCode::kInvalidArgument);
  SubscriberQuery bad;
  bad.id_kind = "resident-id";
  bad.id_number = "123";
  EXPECT_EQ(ra.ListSubscribers(kBob, bad).error().code(), ErrorCode::kInvalidArgument);

  auto masked = ra.GetSubscriber(kBob, s->id, false);
  ASSERT_TRUE(masked.ok());
  EXPECT_EQ(masked->id_number, MaskIdentifier(id));
  // Only kPiiRead reveals: the system administrator may not.
  EXPECT_EQ(ra.GetSubscriber(kSys, s->id, true).error().code(), ErrorCode::kPermissionDenied);
  auto clear = ra.GetSubscriber(kBob, s->id, true);
  ASSERT_TRUE(clear.ok());
  EXPECT_TRUE(clear->revealed);
  EXPECT_EQ(clear->id_number, id);
  EXPECT_EQ(clear->phone, "13800138000");
  EXPECT_EQ(clear->address, "北京市朝阳区建国路88号");
  int disclosures = 0, refused = 0;
  for (const auto& r : this->Audit()) {
    if (r.event.action != "ra.subscriber.disclose") continue;
    (r.event.outcome == audit::Outcome::kSuccess ? disclosures : refused)++;
    if (r.event.outcome == audit::Outcome::kSuccess) {
      EXPECT_EQ(r.event.actor, "bob");
      EXPECT_NE(r.event.detail.find("id_number"), std::string::npos);
    }
  }
  EXPECT_EQ(disclosures, 1);
  EXPECT_EQ(refused, 1);
}

// req: RA-01
TYPED_TEST(RaServiceTest, ApprovalIssuesExactlyOnceEvenWhenRetried) {
  auto& ra = this->ra();
  auto& env = this->env_;
  std::string id = ResidentId(9);
  auto pending = ra.EnterSubscriber(kAlice, Person("孙八", id));
  ASSERT_TRUE(pending.ok());
  CertRequestInput in{pending->id, "biz", "personal-sign", CsrDer(), std::nullopt};
  // Not before the subscriber record is approved.
  EXPECT_EQ(ra.RequestCertificate(kAlice, in).error().code(), ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(ra.ReviewSubscriber(kBob, pending->id, {true, ""}).ok());
  auto req = ra.RequestCertificate(kAlice, in);
  ASSERT_TRUE(req.ok()) << req.error().ToString();
  EXPECT_EQ(req->status, "pending");
  EXPECT_EQ(ra.ReviewRequest(kAlice, req->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);  // four-eyes on requests
  EXPECT_EQ(env.CaCertificates(), 0);

  // The CA issues but its answer is lost: the request stays approved, nothing recorded.
  env.gateway_->lose_next_answers = 1;
  auto lost = ra.ReviewRequest(kBob, req->id, {true, ""});
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(env.CaCertificates(), 1);
  auto mid = ra.GetRequest(kBob, req->id);
  EXPECT_EQ(mid->status, "approved");
  EXPECT_NE(mid->last_error.find("unavailable"), std::string::npos);
  // Identity attributes come from the reviewed record.
  ASSERT_TRUE(env.gateway_->last_identity.resident_id.has_value());
  EXPECT_EQ(*env.gateway_->last_identity.resident_id, id);
  EXPECT_EQ(*env.gateway_->last_identity.insurance_number, Ssn(id));

  // Approving again (by another reviewer) gets the first certificate back.
  auto done = ra.ReviewRequest(kCarol, req->id, {true, ""});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(env.CaCertificates(), 1);
  auto again = ra.ReviewRequest(kBob, req->id, {true, ""});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->serial_hex, done->serial_hex);
  EXPECT_EQ(env.CaCertificates(), 1);
  EXPECT_EQ(env.gateway_->issue_calls, 2);  // the completed request was not sent again
  auto rec = env.ca_->GetCertificate(Actor{"op", Role::kCaOperator}, "biz", done->serial_hex);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->requested_by, "ra:city-ra");
  // A completed request cannot be rejected afterwards.
  EXPECT_EQ(ra.ReviewRequest(kBob, req->id, {false, "too late"}).error().code(),
            ErrorCode::kConflict);
}

// req: RA-01
TYPED_TEST(RaServiceTest, RejectedAndBadRequestsIssueNothing) {
  auto& ra = this->ra();
  auto sub = this->env_.Approved(Person("钱九", ResidentId(10)));
  CertRequestInput in{sub.id, "biz", "personal-sign", CsrDer(), std::nullopt};
  auto req = ra.RequestCertificate(kAlice, in);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(ra.ReviewRequest(kBob, req->id, {false, ""}).error().code(),
            ErrorCode::kInvalidArgument);
  auto rej = ra.ReviewRequest(kBob, req->id, {false, "applicant withdrew"});
  ASSERT_TRUE(rej.ok());
  EXPECT_EQ(rej->status, "rejected");
  EXPECT_EQ(rej->review_reason, "applicant withdrew");
  EXPECT_EQ(ra.ReviewRequest(kCarol, req->id, {true, ""}).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(ra.Download(kAlice, req->id, CertFormat::kPem).error().code(),
            ErrorCode::kFailedPrecondition);

  // Bad input: nothing stored.
  auto before = this->env_.RaCount("ra_requests");
  CertRequestInput bad = in;
  bad.csr = ToBytes("not a csr");
  EXPECT_EQ(ra.RequestCertificate(kAlice, bad).error().code(), ErrorCode::kMalformedInput);
  bad = in;
  bad.csr.back() ^= 1;  // the signature no longer verifies
  EXPECT_FALSE(ra.RequestCertificate(kAlice, bad).ok());
  bad = in;
  bad.validity_days = 0;
  EXPECT_EQ(ra.RequestCertificate(kAlice, bad).error().code(), ErrorCode::kInvalidArgument);
  bad = in;
  bad.subscriber = "sub-ffffffffffffffff";
  EXPECT_EQ(ra.RequestCertificate(kAlice, bad).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->env_.RaCount("ra_requests"), before);

  // A CA refusal for good (unknown profile) marks the request failed; nothing issued.
  CertRequestInput unknown = in;
  unknown.profile = "no-such-profile";
  auto u = ra.RequestCertificate(kAlice, unknown);
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(ra.ReviewRequest(kBob, u->id, {true, ""}).ok());
  EXPECT_EQ(ra.GetRequest(kBob, u->id)->status, "failed");
  EXPECT_EQ(this->env_.CaCertificates(), 0);
}

// req: RA-01
TYPED_TEST(RaServiceTest, DownloadRevokeAndRenew) {
  auto& ra = this->ra();
  auto& env = this->env_;
  auto org = env.Approved(Organization("阿里巴巴（中国）有限公司", kUsccAlibaba));
  auto issued = env.Issued(org.id, "organization-sign");
  ASSERT_EQ(issued.status, "completed");
  EXPECT_EQ(*env.gateway_->last_identity.uscc, kUsccAlibaba);

  auto der = ra.Download(kAlice, issued.id, CertFormat::kDer);
  ASSERT_TRUE(der.ok());
  auto cert = x509::Certificate::FromDer(*der);
  ASSERT_TRUE(cert.ok());
  auto pem = ra.Download(kAlice, issued.id, CertFormat::kPem);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(x509::Certificate::FromPem(ToString(*pem))->der(), *der);
  auto p7 = ra.Download(kAlice, issued.id, CertFormat::kPkcs7);
  ASSERT_TRUE(p7.ok());
  auto chain = x509::ParsePkcs7Certificates(*p7);
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 4u);  // leaf, business CA, industry CA, root
  EXPECT_EQ((*chain)[0].der(), *der);

  // Renewal: a new certificate, reviewed like any request.
  auto ren = ra.RequestRenewal(kAlice, issued.id, 30);
  ASSERT_TRUE(ren.ok()) << ren.error().ToString();
  EXPECT_EQ(ra.ReviewRequest(kAlice, ren->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  auto renewed = ra.ReviewRequest(kBob, ren->id, {true, ""});
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_EQ(renewed->status, "completed");
  EXPECT_NE(renewed->serial_hex, issued.serial_hex);
  EXPECT_EQ(env.CaCertificates(), 2);

  // Revocation: refused reasons, then reviewed and carried out at the CA.
  EXPECT_EQ(ra.RequestRevocation(kAlice, issued.id, x509::RevocationReason::kCertificateHold)
                .error().code(),
            ErrorCode::kInvalidArgument);
  auto rev = ra.RequestRevocation(kAlice, issued.id, x509::RevocationReason::kKeyCompromise);
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(ra.ReviewRequest(kAlice, rev->id, {true, ""}).error().code(),
            ErrorCode::kPolicyViolation);
  auto done = ra.ReviewRequest(kCarol, rev->id, {true, ""});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->status, "completed");
  auto at_ca = env.gateway_->GetCertificate("biz", issued.serial_hex);
  ASSERT_TRUE(at_ca.ok());
  EXPECT_EQ(at_ca->status, "revoked");
  EXPECT_EQ(at_ca->revocation_reason, 1);
  EXPECT_TRUE(ra.GetRequest(kBob, issued.id)->revoked_unix.has_value());
  EXPECT_EQ(ra.RequestRevocation(kAlice, issued.id, x509::RevocationReason::kSuperseded)
                .error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ra.RequestRenewal(kAlice, rev->id, std::nullopt).error().code(),
            ErrorCode::kFailedPrecondition);  // a revocation holds no certificate

  RequestQuery q;
  q.subscriber = org.id;
  EXPECT_EQ(ra.ListRequests(kBob, q)->size(), 3u);
  q.kind = "revoke";
  EXPECT_EQ(ra.ListRequests(kBob, q)->size(), 1u);
}

// req: CC-FPR
TYPED_TEST(RaServiceTest, ClearNumbersAppearNeitherInTheDatabaseNorInTheAudit) {
  auto& ra = this->ra();
  auto& env = this->env_;
  std::string id = ResidentId(11);
  std::string ssn = Ssn(id);
  auto in = Person("吴十", id);
  auto sub = env.Approved(in);
  auto issued = env.Issued(sub.id);
  ASSERT_EQ(issued.status, "completed");
  // The certificate really carries the number (so storing it in clear would leak it).
  auto der = ra.Download(kAlice, issued.id, CertFormat::kDer);
  ASSERT_TRUE(der.ok());
  EXPECT_NE(ToString(*der).find(id), std::string::npos);
  // Failed attempts with the number are audited too, masked.
  (void)ra.EnterSubscriber(kAlice, in);
  SubscriberQuery q;
  q.id_kind = "resident-id";
  q.id_number = id;
  ASSERT_EQ(ra.ListSubscribers(kBob, q)->size(), 1u);
  ASSERT_TRUE(ra.GetSubscriber(kBob, sub.id, true).ok());

  for (const auto& r : this->Audit()) {
    for (const std::string* f : {&r.event.actor, &r.event.action, &r.event.object,
                                 &r.event.detail}) {
      EXPECT_EQ(f->find(id), std::string::npos) << r.event.action << ": " << *f;
      EXPECT_EQ(f->find(ssn), std::string::npos) << r.event.action << ": " << *f;
      EXPECT_EQ(f->find("13800138000"), std::string::npos) << r.event.action;
    }
  }
  if constexpr (TypeParam::kBackend == store::Backend::kSqlite) {
    // The raw bytes of the SQLite file and its write-ahead log.
    std::string path = this->scratch().url().substr(std::string("sqlite:").size());
    std::string bytes;
    for (const std::string& f : {path, path + "-wal"}) {
      std::ifstream s(f, std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(s), std::istreambuf_iterator<char>());
    }
    ASSERT_GT(bytes.size(), 10000u);
    EXPECT_NE(bytes.find("吴十"), std::string::npos);  // the search does see the file's text
    EXPECT_EQ(bytes.find(id), std::string::npos);
    EXPECT_EQ(bytes.find(ssn), std::string::npos);
    EXPECT_EQ(bytes.find("13800138000"), std::string::npos);
    EXPECT_EQ(bytes.find("建国路88号"), std::string::npos);
  } else {
    // PostgreSQL: no column of any RA table holds the clear number.
    auto tx = this->db().BeginReadOnly();
    for (const char* t : {"ra_subscribers", "ra_requests", "audit_records"}) {
      auto rows = (*tx)->Query(std::string("SELECT * FROM ") + t);
      ASSERT_TRUE(rows.ok());
      for (const auto& row : *rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
          std::string v = std::holds_alternative<std::string>(row.at(i)) ? row.Text(i)
                          : std::holds_alternative<Bytes>(row.at(i))    ? ToString(row.Blob(i))
                                                                         : "";
          EXPECT_EQ(v.find(id), std::string::npos) << t;
        }
      }
    }
  }
}

}  // namespace
}  // namespace gmpki::ra
