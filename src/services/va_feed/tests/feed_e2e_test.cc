// The feed end to end (HI-02; LD/T 02.1-2022 §7.3.1): a CA on the business side, its exporter
// and sender pushing over HTTPS (a real HttpServer with TLS) to the receiver of the public
// side, which has its own database and only ever answers. Plus a 1M-record snapshot timing.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "crypto/random.h"
#include "device/soft_device.h"
#include "net/server.h"
#include "net/tls_pki.h"
#include "services/ca/ca_service.h"
#include "services/va_feed/feed_routes.h"
#include "services/va_feed/feed_sender.h"
#include "services/va_feed/tests/feed_test_util.h"
#include "store/testing/backends.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::va_feed {
namespace {

namespace fs = std::filesystem;
using services::Actor;
using services::Role;

const Actor kSec{"sec", Role::kSecurityAdmin};
const Actor kOp{"op", Role::kCaOperator};

struct Index {
  std::map<std::pair<std::string, std::string>, va::StatusRecord> status;
  std::map<std::string, Bytes> issuers;
  void Apply(const std::vector<va::StatusRecord>& s, const std::vector<va::IssuerRecord>& i) {
    for (const auto& r : s) status[{r.ca, r.serial_hex}] = r;
    for (const auto& r : i) issuers[r.ca] = r.cert_der;
  }
};

std::unique_ptr<store::testutil::ScratchDatabase> Scratch() {
  auto s = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return std::move(s).value();
}

class FeedEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Business side: the CA, its database and crypto device (with the feed key).
    business_ = Scratch();
    dir_ = fs::temp_directory_path() / ("gmpki-feed-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    auto mk = device::GenerateMasterKey();
    ASSERT_TRUE(mk.ok());
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", *mk);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
    // audit::AuditMigrations comes with ca_service.h (the CA writes its audit records).
    std::vector<store::Migration> all = audit::AuditMigrations();
    for (auto& m : ca::CaMigrations()) all.push_back(m);
    ASSERT_TRUE(business_->db().Migrate(all).ok());
    ca_ = std::make_unique<ca::CaService>(business_->db(), *device_, clock_, ca::CaSettings{});
    ASSERT_TRUE(ca_->CreateRoot(kSec, "root", "C=CN,O=Test,CN=Test Root", 7300).ok());
    ASSERT_TRUE(ca_->CreateSubordinate(kSec, "root", "industry", "C=CN,O=Test,CN=Industry",
                                       "industry", 5000)
                    .ok());
    ASSERT_TRUE(
        ca_->CreateSubordinate(kSec, "industry", "biz", "C=CN,O=Test,CN=Business", "business", 3650)
            .ok());
    {
      auto session = device_->OpenSession();
      ASSERT_TRUE(session.ok());
      ASSERT_TRUE((*session)->GenerateKeyPair("va-feed", device::KeyPurpose::kSign).ok());
    }
    auto signer = DeviceFeedSigner(*device_, "va-feed");
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    feed_key_ = signer->public_key;
    ExporterOptions eo;
    eo.source = "ministry-biz-1";
    exporter_ = std::make_unique<FeedExporter>(business_->db(), std::move(*signer), clock_, eo);

    // Public side: its own database, the receiver pinned to the feed key, an HTTPS server.
    public_ = Scratch();
    ASSERT_TRUE(public_->db().Migrate(VaFeedMigrations()).ok());
    ReceiverOptions ro;
    ro.trusted_key = feed_key_;
    ro.expected_source = "ministry-biz-1";
    receiver_ = std::make_unique<FeedReceiver>(public_->db(), ro, clock_);
    receiver_->SetApplyCallback([this](const auto& s, const auto& i) { index_.Apply(s, i); });
    receiver_->SetResetCallback([this] { index_ = Index{}; });

    auto tls_ca = net::CreateTlsCa("CN=feed test TLS CA");
    ASSERT_TRUE(tls_ca.ok());
    tls_ca_pem_ = tls_ca->cert_pem;
    net::TlsCertSpec spec;
    spec.subject_dn = "CN=va-public";
    spec.ip_addresses = {"127.0.0.1"};
    auto cred = net::IssueTlsServerCredentials(*tls_ca, spec);
    ASSERT_TRUE(cred.ok());
    server_cred_ = std::move(*cred);
    StartServer(0);
    sender_ = MakeSender();
  }
  void TearDown() override {
    server_.reset();
    sender_.reset();
    exporter_.reset();
    ca_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void StartServer(std::uint16_t port) {
    net::ServerConfig cfg;
    cfg.port = port;
    cfg.threads = 2;
    cfg.max_body_bytes = 4u << 20;
    net::TlsServerConfig tls;
    tls.cert_chain_pem = server_cred_.cert_pem;
    tls.key_pem = server_cred_.key_pem.Clone();
    cfg.tls = std::move(tls);
    net::Router router;
    ASSERT_TRUE(AddFeedReceiverRoutes(router, *receiver_).ok());
    server_ = std::make_unique<net::HttpServer>(std::move(cfg), std::move(router));
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    port_ = server_->BoundPort();
  }
  std::unique_ptr<FeedSender> MakeSender() {
    net::ClientConfig cc;
    cc.ca_bundle_pem = tls_ca_pem_;
    cc.connect_timeout = std::chrono::milliseconds(2000);
    auto client = net::HttpClient::Create(std::move(cc));
    EXPECT_TRUE(client.ok());
    return std::make_unique<FeedSender>(
        *exporter_, std::move(*client),
        "https://127.0.0.1:" + std::to_string(port_) + std::string(kFeedMessagesPath));
  }
  std::string Issue() {
    auto kp = crypto::Sm2GenerateKeyPair();
    auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
    auto signer = x509::MakeSoftwareSigner(key, kp->public_key);
    ca::IssueRequest r;
    r.ca = "biz";
    r.profile = "personal-sign";
    r.csr = *x509::BuildCsr(*x509::Name::Parse("C=CN,O=Test,CN=Zhang San"), signer);
    auto issued = ca_->Issue(kOp, r);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return issued->record.serial_hex;
  }
  // Everything the CA holds, as status records, compared with what the public side holds.
  void ExpectInStep() {
    auto tx = business_->db().BeginReadOnly();
    auto rows = (*tx)->Query("SELECT ca, serial_hex, status FROM certificates");
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(index_.status.size(), rows->size());
    for (const auto& r : *rows) {
      auto it = index_.status.find({r.Text(0), r.Text(1)});
      ASSERT_NE(it, index_.status.end()) << r.Text(1);
      EXPECT_EQ(static_cast<char>(it->second.state), r.Text(2)[0]) << r.Text(1);
    }
    EXPECT_EQ(*exporter_->AcknowledgedSeq(), receiver_->State()->applied_seq);
  }

  ManualClock clock_{std::chrono::system_clock::now()};
  fs::path dir_;
  std::unique_ptr<store::testutil::ScratchDatabase> business_, public_;
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<ca::CaService> ca_;
  crypto::Sm2PublicKey feed_key_;
  std::unique_ptr<FeedExporter> exporter_;
  std::unique_ptr<FeedReceiver> receiver_;
  Index index_;
  std::string tls_ca_pem_;
  net::TlsCredentials server_cred_;
  std::unique_ptr<net::HttpServer> server_;
  std::uint16_t port_ = 0;
  std::unique_ptr<FeedSender> sender_;
};

// req: HI-02, VA-01, VA-02
TEST_F(FeedEndToEndTest, SnapshotThenRevocationReachesThePublicSide) {
  std::string a = Issue(), b = Issue();
  ASSERT_TRUE(ca_->IssueCrl(kOp, "biz", false).ok());
  // The first push finds a receiver without state: it answers need_snapshot, a snapshot follows.
  auto first = sender_->PushOnce();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(first->snapshot);
  ExpectInStep();
  EXPECT_EQ(index_.issuers.size(), 3u);
  EXPECT_EQ(index_.issuers.at("biz"), ca_->GetCa("biz")->cert_der);
  EXPECT_EQ(*receiver_->LatestCrl("biz", std::nullopt, false), *ca_->LatestCrl("biz", false));

  // Revocation on the business side -> the receiver's callback, with its reason and time.
  ASSERT_TRUE(ca_->Revoke(kOp, "biz", a, x509::RevocationReason::kKeyCompromise).ok());
  ASSERT_TRUE(ca_->Hold(kOp, "biz", b).ok());
  ASSERT_TRUE(ca_->IssueCrl(kOp, "biz", true).ok());
  auto second = sender_->PushOnce();
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_FALSE(second->snapshot);
  EXPECT_EQ(second->messages, 1u);
  const va::StatusRecord& ra = index_.status.at({"biz", a});
  EXPECT_EQ(ra.state, va::CertState::kRevoked);
  EXPECT_EQ(ra.reason, static_cast<int>(x509::RevocationReason::kKeyCompromise));
  EXPECT_EQ(ra.revoked_unix, ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(index_.status.at({"biz", b}).state, va::CertState::kHold);
  EXPECT_EQ(*receiver_->LatestCrl("biz", std::nullopt, true), *ca_->LatestCrl("biz", true));
  ExpectInStep();

  // Nothing new: a heartbeat, accepted, nothing applied.
  auto idle = sender_->PushOnce();
  ASSERT_TRUE(idle.ok()) << idle.error().ToString();
  EXPECT_EQ(idle->records, 0u);
  // Release from hold travels the same way.
  ASSERT_TRUE(ca_->Release(kOp, "biz", b).ok());
  ASSERT_TRUE(sender_->PushOnce().ok());
  EXPECT_EQ(index_.status.at({"biz", b}).state, va::CertState::kGood);
  EXPECT_EQ(index_.status.at({"biz", b}).reason, -1);
  ExpectInStep();
}

// req: HI-02
TEST_F(FeedEndToEndTest, ReceiverDowntimeLosesNothing) {
  Issue();
  ASSERT_TRUE(sender_->PushOnce().ok());
  std::string c = Issue();
  ASSERT_TRUE(ca_->Revoke(kOp, "biz", c, x509::RevocationReason::kSuperseded).ok());
  const std::int64_t cursor = *exporter_->AcknowledgedSeq();

  // The public side is down: the push fails and the cursor stays.
  server_.reset();
  auto down = sender_->PushOnce();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable) << down.error().ToString();
  EXPECT_EQ(*exporter_->AcknowledgedSeq(), cursor);
  EXPECT_EQ(index_.status.count({"biz", c}), 0u);

  // Back on the same address: the next push delivers the revocation (and the issuance).
  StartServer(port_);
  auto up = sender_->PushOnce();
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  EXPECT_FALSE(up->snapshot);
  EXPECT_EQ(index_.status.at({"biz", c}).state, va::CertState::kRevoked);
  ExpectInStep();
}

// req: HI-02
TEST_F(FeedEndToEndTest, LostAnswerAndKilledSenderAreIdempotent) {
  Issue();
  ASSERT_TRUE(sender_->PushOnce().ok());
  std::string d = Issue();
  // The delta reached the receiver but the answer was lost (or the sender was killed before
  // moving the cursor): the same delta is read again and the receiver's "already applied"
  // counts as delivered.
  auto delta = exporter_->NextDelta();
  ASSERT_TRUE(delta.ok());
  ASSERT_TRUE(receiver_->Receive(delta->wire).ok());
  FeedExporter restarted(business_->db(), *DeviceFeedSigner(*device_, "va-feed"), clock_,
                         ExporterOptions{"ministry-biz-1"});
  auto again = restarted.NextDelta();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->header.base, delta->header.base);
  EXPECT_EQ(again->header.seq, delta->header.seq);
  auto push = sender_->PushOnce();
  ASSERT_TRUE(push.ok()) << push.error().ToString();
  EXPECT_FALSE(push->snapshot);
  EXPECT_EQ(*exporter_->AcknowledgedSeq(), delta->header.seq);
  ExpectInStep();

  // The receiver lost its database (a fresh public node): the sender falls back to a snapshot.
  public_ = Scratch();
  ASSERT_TRUE(public_->db().Migrate(VaFeedMigrations()).ok());
  server_.reset();
  ReceiverOptions ro;
  ro.trusted_key = feed_key_;
  receiver_ = std::make_unique<FeedReceiver>(public_->db(), ro, clock_);
  receiver_->SetApplyCallback([this](const auto& s, const auto& i) { index_.Apply(s, i); });
  receiver_->SetResetCallback([this] { index_ = Index{}; });
  StartServer(port_);
  ASSERT_TRUE(ca_->Revoke(kOp, "biz", d, x509::RevocationReason::kAffiliationChanged).ok());
  auto resync = sender_->PushOnce();
  ASSERT_TRUE(resync.ok()) << resync.error().ToString();
  EXPECT_TRUE(resync->snapshot);
  EXPECT_EQ(index_.status.at({"biz", d}).state, va::CertState::kRevoked);
  ExpectInStep();
}

// req: HI-02
TEST_F(FeedEndToEndTest, ReceiverPinningAnotherKeyRefusesEverything) {
  Issue();
  public_ = Scratch();
  ASSERT_TRUE(public_->db().Migrate(VaFeedMigrations()).ok());
  server_.reset();
  ReceiverOptions ro;
  ro.trusted_key = testutil::SoftSigner().public_key;
  receiver_ = std::make_unique<FeedReceiver>(public_->db(), ro, clock_);
  StartServer(port_);
  auto r = sender_->PushOnce();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << r.error().ToString();
  EXPECT_EQ(*exporter_->AcknowledgedSeq(), 0);
  EXPECT_FALSE(receiver_->State()->has_state);
}

}  // namespace
}  // namespace gmpki::va_feed
