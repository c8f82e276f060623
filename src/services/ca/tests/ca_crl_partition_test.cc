// Partitioned CRLs of the CA service on both storage backends (issue #6 item 2): certificates
// are assigned to partitions at issue, name their partition's CRL in cRLDistributionPoints, and
// that CRL carries the same URI in a critical issuingDistributionPoint (RFC 5280 §5.2.5,
// §6.3.3 (b)(2)); a revocation lands in its partition's CRL only; the full CRL still lists all.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/ca/ca_routes.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"
#include "store/testing/backends.h"
#include "x509/csr.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/pem.h"
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
constexpr char kBase[] = "http://crl.test:8080";

Bytes SerialBytes(const std::string& hex) {
  return *HexDecode(hex.size() % 2 ? "0" + hex : hex);
}

// Runs a shell command; returns its exit status and puts stdout+stderr into `out`.
int Shell(const std::string& cmd, std::string* out) {
  out->clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

template <class B>
class CaCrlPartitionTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    dir_ = fs::temp_directory_path() / ("gmpki-crlp-test-" + HexEncode(*crypto::RandomBytes(8)));
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
    ca_ = NewService();
    ASSERT_TRUE(ca_->CreateRoot(kSec, "root", "C=CN,O=Test,CN=Test Root", 7300).ok());
    auto biz = ca_->CreateSubordinate(kSec, "root", "biz", "C=CN,O=Test,CN=Business", "business",
                                      3650);
    ASSERT_TRUE(biz.ok()) << biz.error().ToString();
  }
  void TearDown() override {
    ca_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    BackendTest<B>::TearDown();
  }
  std::unique_ptr<CaService> NewService() {
    CaSettings s;
    s.public_base_url = kBase;
    s.crl_partition_size = 2;
    return std::make_unique<CaService>(this->db(), *device_, clock_, s);
  }
  IssuedCertificate Issue() {
    auto kp = crypto::Sm2GenerateKeyPair();
    EXPECT_TRUE(kp.ok());
    auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
    auto csr = x509::BuildCsr(*x509::Name::Parse("C=CN,O=Test,CN=Zhang San"),
                              x509::MakeSoftwareSigner(key, kp->public_key));
    EXPECT_TRUE(csr.ok());
    IssueRequest r;
    r.ca = "biz";
    r.profile = "personal-sign";
    r.csr = *csr;
    auto issued = ca_->Issue(kOp, r);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return *issued;
  }
  static std::vector<std::string> CdpOf(const IssuedCertificate& c) {
    auto cert = x509::Certificate::FromDer(c.record.der);
    EXPECT_TRUE(cert.ok());
    const x509::Extension* e =
        x509::FindExtension(cert->extensions(), x509::oid::kCrlDistributionPoints);
    EXPECT_NE(e, nullptr);
    return e ? *x509::ParseCrlDistributionPoints(e->value) : std::vector<std::string>{};
  }
  x509::Certificate CaCert(const std::string& name) {
    return *x509::Certificate::FromDer(ca_->GetCa(name)->cert_der);
  }
  std::string Save(const std::string& name, ByteView der) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(der.data()),
                                             static_cast<std::streamsize>(der.size()));
    return p.string();
  }

  fs::path dir_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<CaService> ca_;
};
TYPED_TEST_SUITE(CaCrlPartitionTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: CA-03
TYPED_TEST(CaCrlPartitionTest, CertificatesNameTheirPartitionAndItsCrlCarriesTheSameUri) {
  std::vector<IssuedCertificate> certs;
  for (int i = 0; i < 5; ++i) certs.push_back(this->Issue());
  // Issue order, two per partition: 0 0 1 1 2.
  const std::int64_t want[] = {0, 0, 1, 1, 2};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(this->CdpOf(certs[i]),
              std::vector<std::string>{std::string(kBase) + "/crl/biz-p" +
                                       std::to_string(want[i]) + ".crl"});
    EXPECT_EQ(this->ca_->CrlUrl("biz", want[i]), this->CdpOf(certs[i])[0]);
  }
  // The CA certificate itself names the parent's full CRL, never a partition.
  const x509::Certificate biz_cert = this->CaCert("biz");
  const x509::Extension* ca_dp =
      x509::FindExtension(biz_cert.extensions(), x509::oid::kCrlDistributionPoints);
  ASSERT_NE(ca_dp, nullptr);
  auto ca_uris = x509::ParseCrlDistributionPoints(ca_dp->value);
  ASSERT_TRUE(ca_uris.ok()) << ca_uris.error().ToString();
  EXPECT_EQ(*ca_uris, std::vector<std::string>{std::string(kBase) + "/crl/root.crl"});

  for (std::int64_t p = 0; p < 3; ++p) {
    auto r = this->ca_->IssuePartitionCrl(kOp, "biz", p, false);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    auto crl = x509::Crl::FromDer(r->der);
    ASSERT_TRUE(crl.ok());
    ASSERT_TRUE(crl->issuing_distribution_point());
    EXPECT_EQ(crl->issuing_distribution_point()->full_name_uris,
              std::vector<std::string>{this->ca_->CrlUrl("biz", p)});
    EXPECT_TRUE(crl->issuing_distribution_point()->only_user_certs);
    EXPECT_TRUE(x509::FindExtension(crl->extensions(), x509::oid::kIssuingDistributionPoint)
                    ->critical);
    EXPECT_TRUE(x509::VerifyCrlSignature(*crl, this->CaCert("biz").public_key()).ok());
    EXPECT_EQ(crl->entries().size(), 0u);
    EXPECT_EQ(r->partition, std::optional<std::int64_t>(p));
  }
  EXPECT_EQ(this->ca_->IssuePartitionCrl(kOp, "biz", -1, false).error().code(),
            ErrorCode::kInvalidArgument);
  // Auditors may read but not issue CRLs.
  EXPECT_EQ(this->ca_->IssuePartitionCrl(kAud, "biz", 0, false).error().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(this->ca_->IssueChangedPartitionCrls(kAud, "biz").error().code(),
            ErrorCode::kPermissionDenied);
}

// req: CA-03
TYPED_TEST(CaCrlPartitionTest, RevocationLandsInItsPartitionOnly) {
  std::vector<IssuedCertificate> certs;
  for (int i = 0; i < 5; ++i) certs.push_back(this->Issue());
  auto full0 = this->ca_->IssueCrl(kOp, "biz", false);
  ASSERT_TRUE(full0.ok());
  // Every partition in use (0..2) gets a CRL at its distribution point, even an empty one.
  auto first = this->ca_->IssueChangedPartitionCrls(kOp, "biz");
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->size(), 3u);
  for (std::int64_t p = 0; p < 3; ++p) {
    EXPECT_EQ((*first)[p].partition, std::optional<std::int64_t>(p));
    EXPECT_EQ((*first)[p].entries, 0u);
  }
  // Nothing changed since: nothing to re-issue, unless all are asked for (the periodic run).
  auto none = this->ca_->IssueChangedPartitionCrls(kOp, "biz");
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(this->ca_->IssueChangedPartitionCrls(kOp, "biz", true)->size(), 3u);

  // certs[2] is in partition 1.
  ASSERT_TRUE(this->ca_
                  ->Revoke(kOp, "biz", certs[2].record.serial_hex,
                           x509::RevocationReason::kKeyCompromise)
                  .ok());
  auto changed = this->ca_->IssueChangedPartitionCrls(kOp, "biz");
  ASSERT_TRUE(changed.ok()) << changed.error().ToString();
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ((*changed)[0].partition, std::optional<std::int64_t>(1));
  EXPECT_EQ((*changed)[0].entries, 1u);
  auto p1 = *x509::Crl::FromDer((*changed)[0].der);
  const x509::RevokedEntry* e = p1.Find(SerialBytes(certs[2].record.serial_hex));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->reason, std::optional(x509::RevocationReason::kKeyCompromise));
  EXPECT_EQ(p1.issuing_distribution_point()->full_name_uris, this->CdpOf(certs[2]));
  EXPECT_TRUE(this->ca_->IssueChangedPartitionCrls(kOp, "biz")->empty());

  // The other partitions list nothing; the full CRL (no IDP) lists the revocation too.
  for (std::int64_t p : {0, 2}) {
    auto r = this->ca_->IssuePartitionCrl(kOp, "biz", p, false);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->entries, 0u) << p;
  }
  auto full = this->ca_->IssueCrl(kOp, "biz", false);
  ASSERT_TRUE(full.ok());
  auto full_crl = *x509::Crl::FromDer(full->der);
  EXPECT_FALSE(full_crl.issuing_distribution_point());
  EXPECT_NE(full_crl.Find(SerialBytes(certs[2].record.serial_hex)), nullptr);

  // Downloads: the full CRL is never replaced by a partition's, and each partition's latest.
  EXPECT_EQ(*this->ca_->LatestCrl("biz", false), full->der);
  EXPECT_EQ(*this->ca_->LatestPartitionCrl("biz", 1, false), (*changed)[0].der);
  EXPECT_EQ(this->ca_->LatestPartitionCrl("biz", 7, false).error().code(), ErrorCode::kNotFound);

  // A hold in partition 0: only partition 0 changes; its delta lists the hold, in scope.
  ASSERT_TRUE(this->ca_->Hold(kOp, "biz", certs[1].record.serial_hex).ok());
  auto delta = this->ca_->IssuePartitionCrl(kOp, "biz", 0, true);
  ASSERT_TRUE(delta.ok()) << delta.error().ToString();
  auto delta_crl = *x509::Crl::FromDer(delta->der);
  EXPECT_TRUE(delta_crl.is_delta());
  EXPECT_EQ(delta->entries, 1u);
  ASSERT_NE(delta_crl.Find(SerialBytes(certs[1].record.serial_hex)), nullptr);
  EXPECT_EQ(delta_crl.issuing_distribution_point()->full_name_uris, this->CdpOf(certs[1]));
  auto p0_full = x509::Crl::FromDer(*this->ca_->LatestPartitionCrl("biz", 0, false));
  EXPECT_EQ(delta_crl.delta_base(), p0_full->crl_number());
  EXPECT_EQ(*this->ca_->LatestPartitionCrl("biz", 0, true), delta->der);
  changed = this->ca_->IssueChangedPartitionCrls(kOp, "biz");
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ((*changed)[0].partition, std::optional<std::int64_t>(0));
  // A partition without a full CRL has no delta.
  auto fresh = this->Issue();  // partition 2 (it holds one certificate)
  EXPECT_EQ(this->CdpOf(fresh)[0], this->ca_->CrlUrl("biz", 2));
  EXPECT_EQ(this->ca_->IssuePartitionCrl(kOp, "biz", 3, true).error().code(),
            ErrorCode::kFailedPrecondition);
}

// req: CA-03
TYPED_TEST(CaCrlPartitionTest, AssignmentContinuesAfterRestart) {
  for (int i = 0; i < 3; ++i) this->Issue();  // partitions 0 0 1
  this->ca_ = this->NewService();           // a restarted node: counter from the database
  EXPECT_EQ(this->CdpOf(this->Issue())[0], this->ca_->CrlUrl("biz", 1));
  auto fourth = this->Issue();
  EXPECT_EQ(this->CdpOf(fourth)[0], this->ca_->CrlUrl("biz", 2));
  // A renewal is a new certificate: it takes the next place in issue order (inside the
  // renewal's write transaction the counter is read through its own read-only one).
  auto renewed = this->ca_->Renew(kOp, "biz", fourth.record.serial_hex, std::nullopt);
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_EQ(this->CdpOf(*renewed)[0], this->ca_->CrlUrl("biz", 2));
  EXPECT_EQ(this->CdpOf(this->Issue())[0], this->ca_->CrlUrl("biz", 3));
  // Partitioning off: the CA's full CRL, as before.
  CaSettings plain;
  plain.public_base_url = kBase;
  this->ca_ = std::make_unique<CaService>(this->db(), *this->device_, this->clock_, plain);
  EXPECT_EQ(this->CdpOf(this->Issue())[0], std::string(kBase) + "/crl/biz.crl");
}

// req: CA-03, CA-04
TYPED_TEST(CaCrlPartitionTest, OpenSslAndBouncyCastleReadPartitionCrls) {
  if (TypeParam::kBackend != store::Backend::kSqlite) return;  // independent of the backend
  std::vector<IssuedCertificate> certs;
  for (int i = 0; i < 4; ++i) certs.push_back(this->Issue());
  ASSERT_TRUE(this->ca_
                  ->Revoke(kOp, "biz", certs[3].record.serial_hex,
                           x509::RevocationReason::kSuperseded)
                  .ok());
  auto changed = this->ca_->IssueChangedPartitionCrls(kOp, "biz");  // p0 and p1: no CRL yet
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->size(), 2u);
  ASSERT_EQ((*changed)[1].partition, std::optional<std::int64_t>(1));
  const std::string crl = this->Save("p1.crl", (*changed)[1].der);
  std::string out;
  ASSERT_EQ(Shell("openssl crl -inform DER -in " + crl + " -noout -text", &out), 0) << out;
  for (const std::string& want :
       {std::string("X509v3 Issuing Distribution Point: critical"),
        "URI:" + this->ca_->CrlUrl("biz", 1), std::string("Only User Certificates"),
        "Serial Number: " + certs[3].record.serial_hex, std::string("Superseded")}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }

  // Bouncy Castle: the CRL's SM2 signature under the GM/T ID, and path validation of the
  // revoked leaf (fails) and of a good leaf of the same partition (passes) with that CRL.
  const std::string bc = GMPKI_BINARY_DIR "/bc-verify";
  if (!fs::exists(bc)) {
    ADD_FAILURE() << "bc-verify not built: cmake --build BUILD --target bc_verify";
    return;
  }
  const std::string biz = this->Save("biz.der", this->CaCert("biz").der());
  const std::string root = this->Save("root.der", this->CaCert("root").der());
  ASSERT_EQ(Shell(bc + " crl --issuer " + biz + " " + crl, &out), 0) << out;
  EXPECT_NE(out.find("\"count\":1"), std::string::npos) << out;
  const std::string chain = bc + " chain --anchor " + root + " --untrusted " + biz + " --crl " +
                            crl + " --at " + std::to_string(ToUnixSeconds(this->clock_.Now()));
  EXPECT_EQ(Shell(chain + " " + this->Save("revoked.der", certs[3].record.der), &out), 1) << out;
  EXPECT_EQ(Shell(chain + " " + this->Save("good.der", certs[2].record.der), &out), 0) << out;
  // Under OpenSSL 3.0's empty ID the signature does not verify.
  EXPECT_EQ(Shell(bc + " crl --id '' --issuer " + biz + " " + crl, &out), 1) << out;
}

// req: CA-03
TYPED_TEST(CaCrlPartitionTest, PublicRouteServesPartitionCrlsAtTheirDistributionPoint) {
  if (TypeParam::kBackend != store::Backend::kSqlite) return;  // routing only
  net::Router router;
  ASSERT_TRUE(AddCaPublicRoutes(router, *this->ca_).ok());
  auto get = [&router](const std::string& path) {
    net::HttpRequest r;
    r.method = "GET";
    r.target = r.path = path;
    return router.Dispatch(r);
  };
  std::vector<IssuedCertificate> certs;
  for (int i = 0; i < 3; ++i) certs.push_back(this->Issue());
  auto full = this->ca_->IssueCrl(kOp, "biz", false);
  auto p1 = this->ca_->IssuePartitionCrl(kOp, "biz", 1, false);
  ASSERT_TRUE(full.ok() && p1.ok());
  // The path of certs[2]'s CRL DP URL (partition 1) serves that partition's CRL.
  const std::string url = this->CdpOf(certs[2])[0];
  ASSERT_EQ(url.rfind(kBase, 0), 0u);
  auto r = get(url.substr(std::string(kBase).size()));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/pkix-crl");
  EXPECT_EQ(r.body, ToString(p1->der));
  EXPECT_EQ(get("/crl/biz.crl").body, ToString(full->der));
  EXPECT_EQ(get("/crl/biz-p0.crl").status, 404);        // not issued yet
  EXPECT_EQ(get("/crl/biz-p1-delta.crl").status, 404);  // no delta yet
  auto d1 = this->ca_->IssuePartitionCrl(kOp, "biz", 1, true);
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(get("/crl/biz-p1-delta.crl").body, ToString(d1->der));
  EXPECT_EQ(get("/crl/biz-p.crl").status, 404);
  EXPECT_EQ(get("/crl/biz-p99999999999999999999999.crl").status, 404);
}

}  // namespace
}  // namespace gmpki::ca

// The CRL schedule (README "CRL schedule"): what the server's timer runs.
namespace gmpki::ca {
namespace {

template <class B>
class CaCrlScheduleTest : public CaCrlPartitionTest<B> {
 protected:
  // Which CRLs a refresh issued, as "<ca-less> full|delta|p<N>" strings in issue order.
  static std::vector<std::string> Kinds(const CrlRefreshReport& r) {
    std::vector<std::string> out;
    for (const auto& c : r.issued) {
      out.push_back(c.partition ? "p" + std::to_string(*c.partition)
                                : (c.delta_base ? "delta" : "full"));
    }
    return out;
  }
  CrlRefreshReport Refresh(const CrlRefreshPolicy& policy = {}) {
    auto r = this->ca_->RefreshCrls(kOp, policy);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_TRUE(r->failures.empty());
    return r.ok() ? *r : CrlRefreshReport{};
  }
};
TYPED_TEST_SUITE(CaCrlScheduleTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: CA-03
TYPED_TEST(CaCrlScheduleTest, IssuesFirstCrlsThenOnlyWhatChangedOrNearsExpiry) {
  auto a = this->Issue();
  auto b = this->Issue();
  auto c = this->Issue();  // partitions 0 0 1
  // First tick: each CA's first full CRL and every partition's (empty ones too: each
  // distribution point in use must serve a CRL).
  EXPECT_EQ(this->Kinds(this->Refresh()),
            (std::vector<std::string>{"full", "p0", "p1", "full"}));  // biz, then root
  EXPECT_TRUE(this->Refresh().issued.empty()) << "nothing changed, nothing is due";

  // A revocation: the small CA's full CRL and the touched partition only.
  ASSERT_TRUE(this->ca_->Revoke(kOp, "biz", c.record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  auto r = this->Refresh();
  ASSERT_EQ(this->Kinds(r), (std::vector<std::string>{"full", "p1"}));
  for (const auto& crl : r.issued) {
    auto parsed = x509::Crl::FromDer(crl.der);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed->Find(SerialBytes(c.record.serial_hex))) << "the revoked serial is listed";
    EXPECT_FALSE(parsed->Find(SerialBytes(a.record.serial_hex)));
  }
  EXPECT_TRUE(this->Refresh().issued.empty());
  auto latest = this->ca_->LatestCrl("biz", false);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, r.issued[0].der) << "the distribution point serves the new CRL at once";

  // A large CA (policy: full CRL on change only up to 0 entries) gets a delta at once; the full
  // CRL waits for its schedule.
  CrlRefreshPolicy large;
  large.full_on_change_max_entries = 0;
  ASSERT_TRUE(this->ca_->Hold(kOp, "biz", b.record.serial_hex).ok());
  r = this->Refresh(large);
  ASSERT_EQ(this->Kinds(r), (std::vector<std::string>{"delta", "p0"}));
  auto delta = x509::Crl::FromDer(r.issued[0].der);
  ASSERT_TRUE(delta.ok());
  EXPECT_TRUE(delta->Find(SerialBytes(b.record.serial_hex)));
  EXPECT_FALSE(delta->Find(SerialBytes(c.record.serial_hex))) << "already in the base CRL";
  EXPECT_TRUE(this->Refresh(large).issued.empty()) << "the delta covers the change";
  // Without deltas the large CA publishes nothing until its full CRL is due.
  ASSERT_TRUE(this->ca_->Release(kOp, "biz", b.record.serial_hex).ok());
  large.delta_crls = false;
  EXPECT_EQ(this->Kinds(this->Refresh(large)), (std::vector<std::string>{"p0"}));

  // Half the validity period later every CRL is re-issued ahead of its nextUpdate.
  this->clock_.Advance(std::chrono::hours(12));
  EXPECT_EQ(this->Kinds(this->Refresh()),
            (std::vector<std::string>{"full", "p0", "p1", "full"}));
  EXPECT_TRUE(this->Refresh().issued.empty());
  // CRL numbers kept increasing through it all (RFC 5280 §5.2.3).
  auto crl = x509::Crl::FromDer(*this->ca_->LatestCrl("biz", false));
  ASSERT_TRUE(crl.ok());
  EXPECT_GT(*crl->crl_number(), *delta->crl_number());
}

// req: CA-03
TYPED_TEST(CaCrlScheduleTest, NeedsCrlPermission) {
  auto r = this->ca_->RefreshCrls(kAud);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace gmpki::ca
