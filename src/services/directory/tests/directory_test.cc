// Directory publication against a real OpenLDAP slapd master and its push replica (started per
// test suite by tools/ldap/slapd-instance.sh), with the CA data made by the real CaService on
// SQLite. Entries are read back with the `ldapsearch` CLI, an independent LDAP client, and the
// DER bytes compared with the CA's own.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"
#include "services/directory/directory_sync.h"
#include "services/directory/ldap_publisher.h"
#include "services/directory/tests/slapd_fixture.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::directory {
namespace {

namespace fs = std::filesystem;
using services::Actor;
using services::Role;
using testing::LdapsearchDns;
using testing::LdapsearchValues;
using testing::SlapdPair;

const Actor kSec{"sec", Role::kSecurityAdmin};
const Actor kOp{"op", Role::kCaOperator};

using Ms = std::chrono::duration<double, std::milli>;

class DirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::SlapdInstalled()) return;
    auto pair = SlapdPair::Start();
    ASSERT_TRUE(pair.ok()) << pair.error().ToString();
    slapd_ = pair->release();
  }
  static void TearDownTestSuite() {
    delete slapd_;
    slapd_ = nullptr;
  }

  void SetUp() override {
    if (!testing::SlapdInstalled()) {
      GTEST_SKIP() << "slapd / ldap-utils not installed (Debian packages slapd, ldap-utils)";
    }
    ASSERT_NE(slapd_, nullptr);
    // Each test has its own CA names (the directory is shared by the suite).
    tag_ = "t" + HexEncode(*crypto::RandomBytes(4));
    dir_ = fs::temp_directory_path() / ("gmpki-dir-test-" + tag_);
    fs::create_directories(dir_);
    auto db = store::OpenDatabase("sqlite:" + (dir_ / "ca.db").string());
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    std::vector<store::Migration> all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) all.push_back(m);
    for (auto& m : ca::CaMigrations()) all.push_back(m);
    ASSERT_TRUE(db_->Migrate(all).ok());
    auto mk = device::GenerateMasterKey();
    ASSERT_TRUE(mk.ok());
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", *mk);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
    ca::CaSettings settings;
    settings.crl_partition_size = 2;
    ca_ = std::make_unique<ca::CaService>(*db_, *device_, clock_, settings);
    ASSERT_TRUE(ca_->CreateRoot(kSec, root(), "C=CN,O=Test,CN=Root " + tag_, 7300).ok());
    auto b = ca_->CreateSubordinate(kSec, root(), biz(), "C=CN,O=Test,CN=Business " + tag_,
                                    "business", 3650);
    ASSERT_TRUE(b.ok()) << b.error().ToString();
    auto pub = LdapPublisher::Create(Settings(slapd_->master_password_file()));
    ASSERT_TRUE(pub.ok()) << pub.error().ToString();
    publisher_ = std::move(*pub);
  }
  void TearDown() override {
    ca_.reset();
    device_.reset();
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  LdapSettings Settings(const fs::path& password_file) const {
    LdapSettings s;
    s.url = slapd_->master_url();
    s.bind_dn = slapd_->manager_dn();
    s.password_file = password_file.string();
    s.suffix = slapd_->suffix();
    return s;
  }
  std::string root() const { return "root-" + tag_; }
  std::string biz() const { return "biz-" + tag_; }

  ca::IssuedCertificate Issue(const std::string& cn) {
    auto kp = crypto::Sm2GenerateKeyPair();
    EXPECT_TRUE(kp.ok());
    auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
    auto signer = x509::MakeSoftwareSigner(key, kp->public_key);
    auto name = x509::Name::Parse("C=CN,O=Test,CN=" + cn);
    EXPECT_TRUE(name.ok());
    ca::IssueRequest r;
    r.ca = biz();
    r.profile = "personal-sign";
    r.csr = *x509::BuildCsr(*name, signer);
    auto issued = ca_->Issue(kOp, r);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return *issued;
  }

  std::optional<Bytes> One(const std::string& url, const std::string& dn, const std::string& attr) {
    auto v = LdapsearchValues(url, dn, attr);
    if (!v || v->size() != 1) return std::nullopt;
    return (*v)[0];
  }
  Bytes CaCert(const std::string& name) { return ca_->GetCa(name)->cert_der; }
  std::int64_t MaxOutboxId() {
    auto tx = db_->BeginReadOnly();
    auto row = (*tx)->QueryOne("SELECT MAX(id) FROM outbox");
    return (*row)->Int(0);
  }
  // Polls `url` until `attr` on `dn` holds exactly `want`; returns the time it took.
  std::optional<Ms> WaitFor(const std::string& url, const std::string& dn, const std::string& attr,
                            const Bytes& want, std::chrono::milliseconds limit) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < limit) {
      if (One(url, dn, attr) == want) return Ms(std::chrono::steady_clock::now() - start);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

  static SlapdPair* slapd_;
  std::string tag_;
  fs::path dir_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<ca::CaService> ca_;
  std::unique_ptr<LdapPublisher> publisher_;
};
SlapdPair* DirectoryTest::slapd_ = nullptr;

// req: CA-03
TEST_F(DirectoryTest, PublishesCasCertificatesAndCrlsUnderTheStandardAttributes) {
  auto a = Issue("Zhang San");
  auto b = Issue("Li Si");
  auto c = Issue("Wang Wu");  // partition 1 (size 2)
  ASSERT_TRUE(
      ca_->Revoke(kOp, biz(), b.record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  auto full = ca_->IssueCrl(kOp, biz(), false);
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  ASSERT_TRUE(
      ca_->Revoke(kOp, biz(), a.record.serial_hex, x509::RevocationReason::kSuperseded).ok());
  auto delta = ca_->IssueCrl(kOp, biz(), true);
  ASSERT_TRUE(delta.ok()) << delta.error().ToString();
  auto parts = ca_->IssueChangedPartitionCrls(kOp, biz());
  ASSERT_TRUE(parts.ok()) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 2u);

  DirectorySync sync(*db_, *publisher_);
  auto counts = sync.SyncOnce();
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  EXPECT_EQ(counts->events, static_cast<std::size_t>(MaxOutboxId()));
  EXPECT_EQ(counts->cas, 2u);
  EXPECT_GE(counts->certificates, 3u);
  EXPECT_GE(counts->crls, 4u);
  EXPECT_EQ(*sync.Cursor(), MaxOutboxId());

  const DitLayout& l = publisher_->layout();
  std::string url = slapd_->master_url();
  EXPECT_EQ(One(url, l.CaDn(root()), "cACertificate;binary"), CaCert(root()));
  EXPECT_EQ(One(url, l.CaDn(biz()), "cACertificate;binary"), CaCert(biz()));
  EXPECT_EQ(One(url, l.CaDn(biz()), "certificateRevocationList;binary"), full->der);
  EXPECT_EQ(One(url, l.CaDn(biz()), "authorityRevocationList;binary"), full->der);
  EXPECT_EQ(One(url, l.CaDn(biz()), "deltaRevocationList;binary"), delta->der);
  for (const auto& p : *parts) {
    EXPECT_EQ(One(url, l.PartitionDn(biz(), *p.partition), "certificateRevocationList;binary"),
              p.der)
        << "partition " << *p.partition;
  }
  for (const auto* issued : {&a, &b, &c}) {
    EXPECT_EQ(One(url, l.CertificateDn(biz(), issued->record.serial_hex), "userCertificate;binary"),
              issued->record.der);
  }
  // The entry is findable by the subject's common name (inetOrgPerson cn), as mail clients do.
  auto found = LdapsearchDns(url, l.CaDn(biz()), "(&(objectClass=pkiUser)(cn=Li Si))");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], l.CertificateDn(biz(), b.record.serial_hex));
  // Default policy kKeep: revoked certificates stay; 3 certificates + 2 partitions under biz.
  EXPECT_EQ(LdapsearchDns(url, l.CaDn(biz()), "(objectClass=*)").size(), 1u + 3u + 2u);

  // Nothing new: a second pass publishes nothing.
  auto again = sync.SyncOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->events, 0u);
}

// req: CA-03, VA-02
TEST_F(DirectoryTest, RevocationReachesTheReplicaWithinSeconds) {
  auto a = Issue("Zhao Liu");
  ASSERT_TRUE(ca_->IssueCrl(kOp, biz(), false).ok());
  DirectorySync sync(*db_, *publisher_);
  ASSERT_TRUE(sync.SyncOnce().ok());
  const DitLayout& l = publisher_->layout();
  // The replica has caught up with the initial state (the push connection may be retrying
  // after the suite's first entries: allow it its 1 s retry interval).
  ASSERT_TRUE(WaitFor(slapd_->replica_url(), l.CertificateDn(biz(), a.record.serial_hex),
                      "userCertificate;binary", a.record.der, std::chrono::seconds(10)))
      << "the replica never received the certificate";

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      ca_->Revoke(kOp, biz(), a.record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  auto crl = ca_->IssueCrl(kOp, biz(), false);
  ASSERT_TRUE(crl.ok());
  auto counts = sync.SyncOnce();
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(One(slapd_->master_url(), l.CaDn(biz()), "certificateRevocationList;binary"), crl->der);
  auto replicated = WaitFor(slapd_->replica_url(), l.CaDn(biz()),
                            "certificateRevocationList;binary", crl->der, std::chrono::seconds(5));
  ASSERT_TRUE(replicated) << "the new CRL did not reach the replica within 5 s";
  Ms total = Ms(std::chrono::steady_clock::now() - t0);
  std::printf(
      "[ latency ] revoke+CRL+publish on the master: %.1f ms; master -> replica: %.1f ms "
      "(polled every 5 ms); revoke -> visible on the replica: %.1f ms\n",
      Ms(t1 - t0).count(), replicated->count(), total.count());
  EXPECT_LT(total.count(), 5000.0);
}

// req: CA-03
TEST_F(DirectoryTest, SlapdKilledMakesSyncFailAndRetryWithNothingLost) {
  DirectorySync sync(*db_, *publisher_);
  ASSERT_TRUE(sync.SyncOnce().ok());
  std::int64_t before = *sync.Cursor();

  ASSERT_TRUE(slapd_->KillMaster().ok());
  auto a = Issue("Sun Qi");
  auto b = Issue("Zhou Ba");
  ASSERT_TRUE(
      ca_->Revoke(kOp, biz(), a.record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  auto crl = ca_->IssueCrl(kOp, biz(), false);
  ASSERT_TRUE(crl.ok());
  auto down = sync.SyncOnce();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable) << down.error().ToString();
  EXPECT_EQ(*sync.Cursor(), before) << "the cursor moved past events the directory never took";
  // Still down: still failing, still not moving.
  EXPECT_FALSE(sync.SyncOnce().ok());
  EXPECT_EQ(*sync.Cursor(), before);

  ASSERT_TRUE(slapd_->StartMaster().ok());
  auto up = sync.SyncOnce();
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  EXPECT_EQ(*sync.Cursor(), MaxOutboxId());
  const DitLayout& l = publisher_->layout();
  std::string url = slapd_->master_url();
  EXPECT_EQ(One(url, l.CertificateDn(biz(), a.record.serial_hex), "userCertificate;binary"),
            a.record.der);
  EXPECT_EQ(One(url, l.CertificateDn(biz(), b.record.serial_hex), "userCertificate;binary"),
            b.record.der);
  EXPECT_EQ(One(url, l.CaDn(biz()), "certificateRevocationList;binary"), crl->der);
  // The push connection reconnects to the restarted master and the replica catches up too.
  EXPECT_TRUE(WaitFor(slapd_->replica_url(), l.CaDn(biz()), "certificateRevocationList;binary",
                      crl->der, std::chrono::seconds(10)));
  EXPECT_TRUE(WaitFor(slapd_->replica_url(), l.CertificateDn(biz(), b.record.serial_hex),
                      "userCertificate;binary", b.record.der, std::chrono::seconds(10)));
}

// req: CA-03
TEST_F(DirectoryTest, BadCredentialsAreAClearErrorAndMoveNothing) {
  fs::path wrong = dir_ / "wrong.pw";
  std::ofstream(wrong) << "not-the-password\n";
  auto pub = LdapPublisher::Create(Settings(wrong));
  ASSERT_TRUE(pub.ok());
  Status st = (*pub)->Connect();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(st.error().message().find("Invalid credentials"), std::string::npos)
      << st.error().ToString();
  EXPECT_NE(st.error().message().find(slapd_->manager_dn()), std::string::npos);
  EXPECT_EQ(st.error().message().find("not-the-password"), std::string::npos);

  Issue("Wu Jiu");
  DirectorySync sync(*db_, **pub);
  auto r = sync.SyncOnce();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(*sync.Cursor(), 0);

  auto missing = LdapPublisher::Create(Settings(dir_ / "absent.pw"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kIoError);
  LdapSettings bad = Settings(slapd_->master_password_file());
  bad.url = "http://127.0.0.1/";
  EXPECT_EQ(LdapPublisher::Create(bad).error().code(), ErrorCode::kConfigInvalid);
}

// req: CA-03
TEST_F(DirectoryTest, ReplayAndFullResyncAreHarmless) {
  auto a = Issue("Zheng Shi");
  auto crl = ca_->IssueCrl(kOp, biz(), false);
  ASSERT_TRUE(crl.ok());
  DirectorySync sync(*db_, *publisher_);
  ASSERT_TRUE(sync.SyncOnce().ok());
  const DitLayout& l = publisher_->layout();
  std::string url = slapd_->master_url();
  auto entries = LdapsearchDns(url, l.CaDn(biz()), "(objectClass=*)");

  // Replay every event (cursor back to 0, as after a lost cursor write) and resync everything.
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(
        (*tx)->Exec("UPDATE ca_outbox_cursors SET last_id = 0 WHERE consumer = 'directory'").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  DirectorySync fresh(*db_, *publisher_);
  ASSERT_TRUE(fresh.SyncOnce().ok());
  auto full = fresh.FullResync();
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  EXPECT_EQ(full->cas, 2u);
  EXPECT_EQ(full->certificates, 1u);
  EXPECT_EQ(full->crls, 1u);
  EXPECT_EQ(*fresh.Cursor(), MaxOutboxId());
  EXPECT_EQ(LdapsearchDns(url, l.CaDn(biz()), "(objectClass=*)"), entries);
  EXPECT_EQ(One(url, l.CertificateDn(biz(), a.record.serial_hex), "userCertificate;binary"),
            a.record.der);
  EXPECT_EQ(One(url, l.CaDn(biz()), "certificateRevocationList;binary"), crl->der);

  // An older CRL's event replayed after a newer CRL never puts the older one back.
  auto newer = ca_->IssueCrl(kOp, biz(), false);
  ASSERT_TRUE(newer.ok());
  ASSERT_TRUE(fresh.SyncOnce().ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(
        (*tx)->Exec("UPDATE ca_outbox_cursors SET last_id = 0 WHERE consumer = 'directory'").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  ASSERT_TRUE(fresh.SyncOnce().ok());
  EXPECT_EQ(One(url, l.CaDn(biz()), "certificateRevocationList;binary"), newer->der);
}

// req: CA-03
TEST_F(DirectoryTest, RemovePolicyTakesRevokedAndHeldCertificatesOut) {
  auto a = Issue("Qian Yi");
  auto b = Issue("Qian Er");
  DirectorySync sync(*db_, *publisher_, RevokedPolicy::kRemove);
  ASSERT_TRUE(sync.SyncOnce().ok());
  const DitLayout& l = publisher_->layout();
  std::string url = slapd_->master_url();
  std::string dn_a = l.CertificateDn(biz(), a.record.serial_hex);
  std::string dn_b = l.CertificateDn(biz(), b.record.serial_hex);
  ASSERT_TRUE(LdapsearchValues(url, dn_a, "userCertificate;binary").has_value());

  ASSERT_TRUE(
      ca_->Revoke(kOp, biz(), a.record.serial_hex, x509::RevocationReason::kKeyCompromise).ok());
  ASSERT_TRUE(ca_->Hold(kOp, biz(), b.record.serial_hex).ok());
  auto r = sync.SyncOnce();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->removed, 2u);
  EXPECT_FALSE(LdapsearchValues(url, dn_a, "userCertificate;binary").has_value());
  EXPECT_FALSE(LdapsearchValues(url, dn_b, "userCertificate;binary").has_value());

  ASSERT_TRUE(ca_->Release(kOp, biz(), b.record.serial_hex).ok());
  ASSERT_TRUE(sync.SyncOnce().ok());
  EXPECT_EQ(One(url, dn_b, "userCertificate;binary"), b.record.der);
  EXPECT_FALSE(LdapsearchValues(url, dn_a, "userCertificate;binary").has_value());
}

}  // namespace
}  // namespace gmpki::directory
