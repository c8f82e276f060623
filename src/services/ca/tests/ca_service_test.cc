// The CA service on both storage backends: hierarchy, issuance, lifecycle, CRLs, CTL, and the
// refusals of bad input, each of which must change nothing (issue #2 items 5, 6, 7, 10).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"
#include "store/testing/backends.h"
#include "x509/chain.h"
#include "x509/csr.h"
#include "x509/ctl.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/pem.h"
#include "x509/pkcs7.h"
#include "x509/signer.h"

namespace gmpki::ca {
namespace {

namespace fs = std::filesystem;
using services::Actor;
using services::Role;
using store::testutil::BackendTest;

const Actor kSec{"sec", Role::kSecurityAdmin};
const Actor kOp{"op", Role::kCaOperator};
const Actor kAud{"aud", Role::kAuditAdmin};
const Actor kSys{"sys", Role::kSystemAdmin};

struct Subscriber {
  std::shared_ptr<crypto::Sm2PrivateKey> key;
  crypto::Sm2PublicKey pub;
  x509::Signer signer;
};

Subscriber NewSubscriber() {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  Subscriber s;
  s.pub = kp->public_key;
  s.key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  s.signer = x509::MakeSoftwareSigner(s.key, s.pub);
  return s;
}

Bytes Csr(const Subscriber& s, const std::string& dn) {
  auto name = x509::Name::Parse(dn);
  EXPECT_TRUE(name.ok());
  auto der = x509::BuildCsr(*name, s.signer);
  EXPECT_TRUE(der.ok());
  return *der;
}

template <class B>
class CaServiceTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    dir_ = fs::temp_directory_path() / ("gmpki-ca-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    auto mk = device::GenerateMasterKey();
    ASSERT_TRUE(mk.ok());
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", *mk);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
    std::vector<store::Migration> all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) all.push_back(m);
    for (auto& m : CaMigrations()) all.push_back(m);
    ASSERT_TRUE(this->db().Migrate(all).ok());
    ca_ = std::make_unique<CaService>(this->db(), *device_, clock_, CaSettings{});
    ASSERT_TRUE(ca_->CreateRoot(kSec, "root", "C=CN,O=Test,CN=Test Root", 7300).ok());
    ASSERT_TRUE(ca_->CreateSubordinate(kSec, "root", "industry", "C=CN,O=Test,CN=Industry", "industry", 5000).ok());
    auto biz = ca_->CreateSubordinate(kSec, "industry", "biz", "C=CN,O=Test,CN=Business", "business", 3650);
    ASSERT_TRUE(biz.ok()) << biz.error().ToString();
  }
  void TearDown() override {
    ca_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    BackendTest<B>::TearDown();
  }
  std::int64_t Count(const std::string& table) {
    auto tx = this->db().BeginReadOnly();
    auto row = (*tx)->QueryOne("SELECT COUNT(*) FROM " + table);
    return (*row)->Int(0);
  }
  IssuedCertificate Issue(const std::string& profile = "personal-sign") {
    IssueRequest r;
    r.ca = "biz";
    r.profile = profile;
    r.csr = Csr(NewSubscriber(), "C=CN,O=Test,CN=Li Si");
    auto issued = ca_->Issue(kOp, r);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return *issued;
  }
  x509::Certificate CaCert(const std::string& name) {
    return *x509::Certificate::FromDer(ca_->GetCa(name)->cert_der);
  }

  fs::path dir_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<CaService> ca_;
};
TYPED_TEST_SUITE(CaServiceTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: HI-01, CA-02, CA-04
TYPED_TEST(CaServiceTest, FourLevelChainVerifiesUnderTheGmtRule) {
  auto issued = this->Issue();
  auto leaf = x509::Certificate::FromDer(issued.record.der);
  ASSERT_TRUE(leaf.ok());
  auto path = x509::VerifyChain(*leaf, {this->CaCert("biz"), this->CaCert("industry")},
                                {this->CaCert("root")}, {this->clock_.Now(), {}, false});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  EXPECT_EQ(path->size(), 4u);
  auto cas = this->ca_->ListCas(kOp);
  ASSERT_TRUE(cas.ok());
  ASSERT_EQ(cas->size(), 3u);
  EXPECT_EQ((*cas)[0].name, "root");
  EXPECT_EQ((*cas)[0].depth, 0);
  EXPECT_EQ((*cas)[2].depth, 2);
  // GM/T 0015 profile: a business CA constrains its path length to 0.
  EXPECT_EQ(this->CaCert("biz").path_len(), std::optional<int>(0));
}

// req: CA-04
TYPED_TEST(CaServiceTest, ProfilesSetKeyUsageAndIdentityExtensions) {
  IssueRequest r;
  r.ca = "biz";
  r.profile = "personal-enc";
  r.csr = Csr(NewSubscriber(), "C=CN,CN=Wang Wu");
  r.identity.resident_id = "11010519491231002X";
  r.identity.insurance_number = "SI-42";
  auto issued = this->ca_->Issue(kOp, r);
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  auto cert = *x509::Certificate::FromDer(issued->record.der);
  ASSERT_TRUE(cert.key_usage());
  EXPECT_TRUE(*cert.key_usage() & x509::kKeyEncipherment);
  EXPECT_FALSE(*cert.key_usage() & x509::kDigitalSignature);
  auto* ic = cert.FindExtension(x509::oid::kIdentifyCode);
  ASSERT_NE(ic, nullptr);
  EXPECT_EQ(x509::ParseIdentifyCode(ic->value)->number, "11010519491231002X");
  EXPECT_NE(cert.FindExtension(x509::oid::kInsuranceNumber), nullptr);
  EXPECT_NE(cert.FindExtension(x509::oid::kCrlDistributionPoints), nullptr);
  EXPECT_EQ(cert.authority_key_id(), this->CaCert("biz").subject_key_id());
  // The personal ID number is masked in the audit trail (CC-FPR).
  auto tx = this->db().BeginReadOnly();
  auto rows = (*tx)->Query("SELECT detail FROM audit_records WHERE action = 'cert.issue'");
  ASSERT_TRUE(rows.ok());
  ASSERT_FALSE(rows->empty());
  EXPECT_EQ(rows->back().Text(0).find("11010519491231002X"), std::string::npos);
  // An organisation attribute is refused by a personal profile.
  r.identity = {};
  r.identity.uscc = "91110000600037341L";
  auto bad = this->ca_->Issue(kOp, r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kPolicyViolation);
}

// req: CA-02
TYPED_TEST(CaServiceTest, SerialsAreRandomPositiveAndUnique) {
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto s = this->Issue().record.serial_hex;
    EXPECT_GE(s.size(), 16u);  // at least 64 bits
    EXPECT_TRUE(serials.insert(s).second);
  }
}

// req: CA-02, CA-03
TYPED_TEST(CaServiceTest, RevokeHoldReleaseAndCrls) {
  auto a = this->Issue(), b = this->Issue();
  auto full1 = this->ca_->IssueCrl(kOp, "biz", false);
  ASSERT_TRUE(full1.ok());
  EXPECT_EQ(full1->entries, 0u);
  ASSERT_TRUE(this->ca_->Revoke(kOp, "biz", a.record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  ASSERT_TRUE(this->ca_->Hold(kOp, "biz", b.record.serial_hex).ok());
  auto delta = this->ca_->IssueCrl(kOp, "biz", true);
  ASSERT_TRUE(delta.ok()) << delta.error().ToString();
  EXPECT_EQ(delta->entries, 2u);
  EXPECT_EQ(delta->delta_base, std::optional<std::uint64_t>(full1->number));
  EXPECT_GT(delta->number, full1->number);
  auto crl = x509::Crl::FromDer(delta->der);
  ASSERT_TRUE(crl.ok());
  EXPECT_TRUE(x509::VerifyCrlSignature(*crl, this->CaCert("biz").public_key()).ok());
  ASSERT_TRUE(crl->next_update());
  ASSERT_TRUE(this->ca_->Release(kOp, "biz", b.record.serial_hex).ok());
  auto full2 = this->ca_->IssueCrl(kOp, "biz", false);
  ASSERT_TRUE(full2.ok());
  EXPECT_EQ(full2->entries, 1u);  // only the revoked one
  auto crl2 = *x509::Crl::FromDer(full2->der);
  auto serial = *HexDecode(a.record.serial_hex.size() % 2 ? "0" + a.record.serial_hex : a.record.serial_hex);
  ASSERT_NE(crl2.Find(serial), nullptr);
  EXPECT_EQ(crl2.Find(serial)->reason, std::optional(x509::RevocationReason::kKeyCompromise));
  // The revoked leaf fails path validation with the CRL.
  auto leaf = *x509::Certificate::FromDer(a.record.der);
  auto path = x509::VerifyChain(leaf, {this->CaCert("biz"), this->CaCert("industry")},
                                {this->CaCert("root")}, {this->clock_.Now(), {crl2}, false});
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().code(), ErrorCode::kConflict);
  // The CRL download serves the latest of each kind.
  EXPECT_EQ(*this->ca_->LatestCrl("biz", false), full2->der);
  EXPECT_EQ(*this->ca_->LatestCrl("biz", true), delta->der);
}

// req: CA-02
TYPED_TEST(CaServiceTest, RenewKeepsKeyAndRekeyRevokesTheOld) {
  auto a = this->Issue();
  auto renewed = this->ca_->Renew(kOp, "biz", a.record.serial_hex, 30);
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  auto c0 = *x509::Certificate::FromDer(a.record.der);
  auto c1 = *x509::Certificate::FromDer(renewed->record.der);
  EXPECT_NE(c0.serial_hex(), c1.serial_hex());
  EXPECT_TRUE(c0.public_key() == c1.public_key());
  auto rekeyed = this->ca_->Rekey(kOp, "biz", a.record.serial_hex, Csr(NewSubscriber(), "C=CN,O=Test,CN=Li Si"));
  ASSERT_TRUE(rekeyed.ok()) << rekeyed.error().ToString();
  EXPECT_EQ(this->ca_->GetCertificate(kOp, "biz", a.record.serial_hex)->status, "revoked");
  // A re-key must change the subject's key, and keep the subject.
  auto same = this->ca_->Rekey(kOp, "biz", renewed->record.serial_hex, Csr(NewSubscriber(), "C=CN,CN=Other"));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code(), ErrorCode::kPolicyViolation);
}

// req: CA-01, HI-06
TYPED_TEST(CaServiceTest, RequestKeysMakeIssuanceAndRenewalIdempotent) {
  Subscriber holder = NewSubscriber();
  IssueRequest r;
  r.ca = "biz";
  r.profile = "personal-sign";
  r.csr = Csr(holder, "C=CN,O=Test,CN=Wang Wu");
  r.request_key = "ra:prov-ra:req-0001";
  auto first = this->ca_->Issue(kOp, r);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  std::int64_t certs = this->Count("certificates");
  // The same request again (a retry after a lost answer): the same certificate, none issued.
  r.csr = Csr(holder, "C=CN,O=Test,CN=Wang Wu");
  auto again = this->ca_->Issue(kOp, r);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->record.serial_hex, first->record.serial_hex);
  EXPECT_EQ(again->record.der, first->record.der);
  EXPECT_EQ(this->Count("certificates"), certs);
  // The key reused for another public key: refused, nothing issued.
  r.csr = Csr(NewSubscriber(), "C=CN,O=Test,CN=Wang Wu");
  EXPECT_EQ(this->ca_->Issue(kOp, r).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(this->Count("certificates"), certs);
  // The same key on another CA is another request.
  r.ca = "industry";
  r.profile = "personal-sign";
  r.csr = Csr(holder, "C=CN,O=Test,CN=Wang Wu");
  EXPECT_TRUE(this->ca_->Issue(kOp, r).ok());
  // Renewal with a key: repeated renewals give one new certificate.
  auto renewed = this->ca_->Renew(kOp, "biz", first->record.serial_hex, 30, "ra:prov-ra:renew-1");
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  std::int64_t after_renew = this->Count("certificates");
  auto renewed2 = this->ca_->Renew(kOp, "biz", first->record.serial_hex, 30, "ra:prov-ra:renew-1");
  ASSERT_TRUE(renewed2.ok());
  EXPECT_EQ(renewed2->record.serial_hex, renewed->record.serial_hex);
  EXPECT_EQ(this->Count("certificates"), after_renew);
  r.ca = "biz";
  r.request_key = std::string(161, 'k');
  EXPECT_EQ(this->ca_->Issue(kOp, r).error().code(), ErrorCode::kInvalidArgument);
  // A repeated revocation for the same reason is done already; for another reason, a conflict.
  const auto kc = x509::RevocationReason::kKeyCompromise;
  ASSERT_TRUE(this->ca_->RevokeOnce(kOp, "biz", first->record.serial_hex, kc).ok());
  EXPECT_TRUE(this->ca_->RevokeOnce(kOp, "biz", first->record.serial_hex, kc).ok());
  EXPECT_EQ(this->ca_->RevokeOnce(kOp, "biz", first->record.serial_hex,
                                  x509::RevocationReason::kSuperseded).error().code(),
            ErrorCode::kConflict);
  EXPECT_EQ(this->ca_->Revoke(kOp, "biz", first->record.serial_hex, kc).error().code(),
            ErrorCode::kConflict);
}

// req: CA-02
TYPED_TEST(CaServiceTest, SearchAndExport) {
  auto a = this->Issue();
  CertQuery q;
  q.ca = "biz";
  q.subject_contains = "Li Si";
  auto found = this->ca_->Search(kOp, q);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  auto pem = this->ca_->Export(kOp, "biz", a.record.serial_hex, true, ExportFormat::kPem);
  ASSERT_TRUE(pem.ok());
  auto chain = x509::ParseCertificatesPem(ToString(*pem));
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 4u);
  EXPECT_EQ((*chain)[0].serial_hex(), a.record.serial_hex);  // leaf first
  EXPECT_TRUE((*chain)[3].IsSelfIssued());                    // root last
  auto p7 = this->ca_->Export(kOp, "biz", a.record.serial_hex, true, ExportFormat::kPkcs7Der);
  ASSERT_TRUE(p7.ok());
  EXPECT_EQ(x509::ParsePkcs7Certificates(*p7)->size(), 4u);
}

// req: HI-01
TYPED_TEST(CaServiceTest, TrustListListsEveryActiveCaAndVerifies) {
  auto der = this->ca_->IssueCtl(kSec, "industry", 30);
  ASSERT_TRUE(der.ok()) << der.error().ToString();
  auto ctl = x509::CertificateTrustList::FromDer(*der);
  ASSERT_TRUE(ctl.ok());
  EXPECT_EQ(ctl->trusted().size(), 3u);
  EXPECT_EQ(ctl->sequence_number(), 1u);
  EXPECT_TRUE(x509::VerifyCtlSignature(*ctl, this->CaCert("industry").public_key()).ok());
  EXPECT_FALSE(x509::VerifyCtlSignature(*ctl, this->CaCert("root").public_key()).ok());
  EXPECT_EQ(x509::CertificateTrustList::FromDer(*this->ca_->IssueCtl(kSec, "industry", 30))->sequence_number(), 2u);
}

// req: HI-01
TYPED_TEST(CaServiceTest, ImportsNationalRootAndTheCertificateItIssued) {
  // The "national root" is outside this deployment: an in-memory key here.
  auto national = NewSubscriber();
  auto root_name = *x509::Name::Parse("C=CN,O=National,CN=National Root");
  x509::TbsSpec root_spec;
  root_spec.serial = *x509::GenerateSerial();
  root_spec.issuer = root_name;
  root_spec.subject = root_name;
  root_spec.not_before = this->clock_.Now() - std::chrono::hours(1);
  root_spec.not_after = this->clock_.Now() + std::chrono::days(7000);
  root_spec.subject_public_key = national.pub;
  root_spec.extensions = {x509::ext::BasicConstraints(true), *x509::ext::KeyUsage(x509::kKeyCertSign | x509::kCrlSign)};
  auto root_der = *x509::IssueCertificate(root_spec, national.signer);

  auto csr_pem = this->ca_->RequestExternalCertificate(kSec, "hrss", "C=CN,O=MOHRSS,CN=HRSS Industry CA");
  ASSERT_TRUE(csr_pem.ok()) << csr_pem.error().ToString();
  EXPECT_EQ(this->ca_->GetCa("hrss")->status, "pending");
  auto csr = *x509::CertificateRequest::FromPem(*csr_pem);
  ASSERT_TRUE(csr.VerifyProofOfPossession().ok());
  x509::TbsSpec spec = root_spec;
  spec.serial = *x509::GenerateSerial();
  spec.subject = csr.subject();
  spec.subject_public_key = csr.public_key();
  spec.not_after = this->clock_.Now() + std::chrono::days(5000);
  auto ca_der = *x509::IssueCertificate(spec, national.signer);

  // A certificate for another key is refused and changes nothing.
  x509::TbsSpec other = spec;
  other.subject_public_key = NewSubscriber().pub;
  auto wrong = this->ca_->ImportExternalCertificate(kSec, "hrss", "national", root_der, *x509::IssueCertificate(other, national.signer));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kPolicyViolation);
  EXPECT_EQ(this->ca_->GetCa("hrss")->status, "pending");

  auto rec = this->ca_->ImportExternalCertificate(kSec, "hrss", "national", root_der, ca_der);
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  EXPECT_EQ(rec->status, "active");
  EXPECT_EQ(this->ca_->GetCa("national")->depth, 0);
  EXPECT_TRUE(this->ca_->GetCa("national")->external);
  // The imported industry CA issues a business CA certificate (ministry or province).
  auto prov = this->ca_->CreateSubordinate(kSec, "hrss", "province-a", "C=CN,O=HRSS,CN=Province A CA", "business", 3000);
  ASSERT_TRUE(prov.ok()) << prov.error().ToString();
  EXPECT_EQ(prov->depth, 2);
  // The external root holds no key here: it cannot issue.
  auto no = this->ca_->CreateSubordinate(kSec, "national", "x", "CN=x,O=x", "business", 10);
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error().code(), ErrorCode::kFailedPrecondition);
}

// req: CA-02, CC-FAU
TYPED_TEST(CaServiceTest, BadInputIsRefusedSpecificallyAndChangesNothing) {
  auto a = this->Issue();
  auto certs = this->Count("certificates");
  IssueRequest r;
  r.ca = "biz";
  r.profile = "personal-sign";
  auto expect = [&](const Result<IssuedCertificate>& res, ErrorCode code) {
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error().code(), code) << res.error().ToString();
    EXPECT_EQ(this->Count("certificates"), certs);
  };
  r.csr = ToBytes("-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----\n");
  expect(this->ca_->Issue(kOp, r), ErrorCode::kMalformedInput);
  r.csr = Bytes(70 * 1024, 0x30);
  expect(this->ca_->Issue(kOp, r), ErrorCode::kTooLarge);
  // Wrongly signed: the CSR is signed with the empty ID (OpenSSL 3.0's default).
  auto s = NewSubscriber();
  auto bad_signer = x509::MakeSoftwareSigner(s.key, s.pub, "");
  r.csr = *x509::BuildCsr(*x509::Name::Parse("C=CN,CN=Bad"), bad_signer);
  expect(this->ca_->Issue(kOp, r), ErrorCode::kBadSignature);
  r.csr = Csr(NewSubscriber(), "C=CN,CN=Ok");
  r.profile = "no-such-profile";
  expect(this->ca_->Issue(kOp, r), ErrorCode::kUnknownProfile);
  r.profile = "organization-sign";  // requires O in the subject
  expect(this->ca_->Issue(kOp, r), ErrorCode::kPolicyViolation);
  r.profile = "personal-sign";
  r.validity_days = 100000;
  expect(this->ca_->Issue(kOp, r), ErrorCode::kPolicyViolation);
  r.validity_days.reset();
  expect(this->ca_->Issue(kAud, r), ErrorCode::kPermissionDenied);   // unauthorised role
  expect(this->ca_->Issue(kSec, r), ErrorCode::kPermissionDenied);
  r.ca = "nope";
  expect(this->ca_->Issue(kOp, r), ErrorCode::kNotFound);
  r.ca = "biz";

  auto unknown = this->ca_->Revoke(kOp, "biz", "0123456789ABCDEF", x509::RevocationReason::kUnspecified);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->ca_->Revoke(kOp, "biz", "zz", x509::RevocationReason::kUnspecified).error().code(),
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(this->ca_->Revoke(kOp, "biz", a.record.serial_hex, x509::RevocationReason::kSuperseded).ok());
  auto twice = this->ca_->Revoke(kOp, "biz", a.record.serial_hex, x509::RevocationReason::kKeyCompromise);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(this->ca_->GetCertificate(kOp, "biz", a.record.serial_hex)->revocation_reason,
            std::optional<int>(static_cast<int>(x509::RevocationReason::kSuperseded)));

  // Refusals are audited with outcome failure, and the chain stays intact.
  auto tx = this->db().BeginReadOnly();
  auto fails = (*tx)->QueryOne("SELECT COUNT(*) FROM audit_records WHERE outcome = 2");
  EXPECT_GE((*fails)->Int(0), 10);
  (void)(*tx)->Rollback();
}

// req: CA-02
TYPED_TEST(CaServiceTest, ExpiredOrRevokedCaCannotIssue) {
  IssueRequest r;
  r.ca = "biz";
  r.profile = "personal-sign";
  r.csr = Csr(NewSubscriber(), "C=CN,CN=Late");
  this->clock_.Advance(std::chrono::hours(24 * 3700));  // past the business CA's validity
  auto late = this->ca_->Issue(kOp, r);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kFailedPrecondition);
  this->clock_.Advance(-std::chrono::hours(24 * 3700));
  {
    auto tx = this->db().Begin();
    ASSERT_TRUE((*tx)->Exec("UPDATE cas SET status = 'revoked' WHERE name = 'biz'").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto revoked = this->ca_->Issue(kOp, r);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code(), ErrorCode::kFailedPrecondition);
}

// req: CC-FAU
TYPED_TEST(CaServiceTest, NoAuditRecordMeansNoOperation) {
  auto certs = this->Count("certificates");
  {
    // Break the audit log's storage: every append now fails.
    auto tx = this->db().Begin();
    ASSERT_TRUE((*tx)->Exec("DROP TABLE audit_records").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  IssueRequest r;
  r.ca = "biz";
  r.profile = "personal-sign";
  r.csr = Csr(NewSubscriber(), "C=CN,CN=Unaudited");
  auto res = this->ca_->Issue(kOp, r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::kAuditFailure);
  EXPECT_EQ(this->Count("certificates"), certs);
}

// req: CC-FMT, CC-FIA
TYPED_TEST(CaServiceTest, OperatorsHoldOneAdministrativeRoleEach) {
  services::OperatorRegistry ops(this->db(), this->clock_, "n1");
  std::string fp1(64, 'a'), fp2(64, 'b'), fp3(64, 'c');
  ASSERT_TRUE(ops.Enrol(std::nullopt, "alice-sys", Role::kSystemAdmin, "alice", fp1).ok());
  Actor alice{"alice-sys", Role::kSystemAdmin};
  auto second = ops.Enrol(alice, "alice-aud", Role::kAuditAdmin, "alice", fp2);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kPolicyViolation);
  // A CA operator role is not under separation of duties.
  ASSERT_TRUE(ops.Enrol(alice, "alice-op", Role::kCaOperator, "alice", fp3).ok());
  EXPECT_EQ(ops.Authenticate(fp3, "test")->role, Role::kCaOperator);
  auto unknown = ops.Authenticate(std::string(64, 'f'), "test");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ops.Enrol(Actor{"x", Role::kCaOperator}, "y", Role::kCaOperator, "y", std::string(64, 'd')).error().code(),
            ErrorCode::kPermissionDenied);
  ASSERT_TRUE(ops.Disable(alice, "alice-op").ok());
  EXPECT_EQ(ops.Authenticate(fp3, "test").error().code(), ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace gmpki::ca
