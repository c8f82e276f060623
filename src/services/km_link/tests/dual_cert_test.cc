// Dual certificates end to end in one process: a CA (its own database and device) asks a KM (its
// own database and device) for the encryption key pair of a subscriber's signing certificate,
// issues the encryption certificate, hands the envelope on, and the subscriber opens it with the
// signing private key to the key the encryption certificate certifies (issue #5 item 3); re-key,
// revocation forwarding and subscriber recovery (item 6); refusals (item 8).
#include <gtest/gtest.h>

#include <filesystem>

#include "audit/audit.h"
#include "crypto/random.h"
#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"
#include "services/km/km_service.h"
#include "services/km_link/local_km_gateway.h"
#include "store/testing/backends.h"
#include "x509/csr.h"
#include "x509/key_envelope.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::km {
namespace {

namespace fs = std::filesystem;
using services::Actor;
using services::Role;
using store::testutil::BackendTest;

const Actor kSec{"sec", Role::kSecurityAdmin};
const Actor kOp{"op", Role::kCaOperator};

struct Subscriber {
  std::shared_ptr<crypto::Sm2PrivateKey> key;
  crypto::Sm2PublicKey pub;
};

Subscriber NewSubscriber() {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  return Subscriber{std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key)), kp->public_key};
}

template <class B>
class DualCertTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    dir_ = fs::temp_directory_path() / ("gmpki-dual-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    // The CA: this test's database and its own device.
    ca_device_ = device::SoftDevice::Create(dir_ / "ca.sealed", *device::GenerateMasterKey()).value();
    std::vector<store::Migration> ca_migrations = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) ca_migrations.push_back(m);
    for (auto& m : ca::CaMigrations()) ca_migrations.push_back(m);
    ASSERT_TRUE(this->db().Migrate(ca_migrations).ok());
    ca_ = std::make_unique<ca::CaService>(this->db(), *ca_device_, clock_, ca::CaSettings{});
    ASSERT_TRUE(ca_->CreateRoot(kSec, "root", "C=CN,O=Test,CN=Root", 7300).ok());
    ASSERT_TRUE(ca_->CreateSubordinate(kSec, "root", "biz", "C=CN,O=Test,CN=Business", "business", 3650).ok());
    // The KM: another database and another device (KM-01).
    auto kmdb = store::testutil::ScratchDatabase::Create(B::kBackend);
    ASSERT_TRUE(kmdb.ok()) << kmdb.error().ToString();
    km_db_ = std::move(*kmdb);
    km_device_ = device::SoftDevice::Create(dir_ / "km.sealed", *device::GenerateMasterKey()).value();
    std::vector<store::Migration> km_migrations = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) km_migrations.push_back(m);
    for (auto& m : KmMigrations()) km_migrations.push_back(m);
    ASSERT_TRUE(km_db_->db().Migrate(km_migrations).ok());
    km_ = std::make_unique<KmService>(km_db_->db(), *km_device_, clock_, KmSettings{});
    auto reg = km_->RegisterCa(kSec, "ca-node", std::string(64, 'e'));
    ASSERT_TRUE(reg.ok());
    gateway_ = std::make_unique<LocalKmGateway>(*km_, *reg);
    ca_->SetKmGateway(gateway_.get());
  }
  void TearDown() override {
    ca_.reset();
    km_.reset();
    km_db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    BackendTest<B>::TearDown();
  }
  // A signing certificate for a fresh subscriber key.
  std::pair<Subscriber, ca::IssuedCertificate> SignCert(const std::string& cn) {
    Subscriber s = NewSubscriber();
    ca::IssueRequest r;
    r.ca = "biz";
    r.profile = "personal-sign";
    r.csr = *x509::BuildCsr(*x509::Name::Parse("C=CN,O=Test,CN=" + cn), x509::MakeSoftwareSigner(s.key, s.pub));
    auto issued = ca_->Issue(kOp, r);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return {s, *issued};
  }
  // Opens the SKF blob with the subscriber's signing key; checks it against the certificate.
  void ExpectOpens(const Subscriber& s, const ca::KmKeyDelivery& d, const ca::IssuedCertificate& enc) {
    auto cert = x509::Certificate::FromDer(enc.record.der);
    ASSERT_TRUE(cert.ok());
    auto env = x509::ParseSkfEnvelopedKeyBlob(d.skf_blob);
    ASSERT_TRUE(env.ok()) << env.error().ToString();
    auto key = x509::OpenEcbKeyEnvelope(*env, x509::SoftwareCekDecryptor(*s.key), cert->public_key());
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    EXPECT_EQ(*key->DerivePublicKey(), cert->public_key());
    auto ct = crypto::Sm2Encrypt(cert->public_key(), ToBytes("salary slip"));
    EXPECT_EQ(ToString(crypto::Sm2Decrypt(*key, *ct)->view()), "salary slip");
  }

  fs::path dir_;
  SystemClock clock_;
  std::unique_ptr<device::SoftDevice> ca_device_, km_device_;
  std::unique_ptr<ca::CaService> ca_;
  std::unique_ptr<store::testutil::ScratchDatabase> km_db_;
  std::unique_ptr<KmService> km_;
  std::unique_ptr<LocalKmGateway> gateway_;
};
TYPED_TEST_SUITE(DualCertTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: KM-01
// req: KM-03
TYPED_TEST(DualCertTest, EncryptionCertificateCertifiesTheEnvelopedKey) {
  auto [alice, sign] = this->SignCert("Alice");
  auto dual = this->ca_->IssueEncryption(kOp, {"biz", sign.record.serial_hex, "personal-enc", {}, "", ""});
  ASSERT_TRUE(dual.ok()) << dual.error().ToString();
  EXPECT_EQ(dual->certificate.record.profile, "personal-enc");
  EXPECT_EQ(dual->certificate.record.subject, sign.record.subject);
  this->ExpectOpens(alice, dual->delivery, dual->certificate);
  // The GB/T 35276 and GM/T 0010 forms open to the same key.
  auto enc_cert = x509::Certificate::FromDer(dual->certificate.record.der);
  auto ek = x509::ParseSm2EnvelopedKey(dual->delivery.sm2_enveloped_key);
  ASSERT_TRUE(ek.ok());
  EXPECT_TRUE(x509::OpenSm2EnvelopedKey(*ek, x509::SoftwareCekDecryptor(*alice.key), enc_cert->public_key()).ok());
  auto ed = x509::ParseGmEnvelopedData(dual->delivery.enveloped_data);
  ASSERT_TRUE(ed.ok());
  auto sel = x509::SelectRecipient(*ed, x509::RecipientIdFromCertificate(*x509::Certificate::FromDer(sign.record.der)),
                                   enc_cert->public_key());
  ASSERT_TRUE(sel.ok()) << sel.error().ToString();
  EXPECT_TRUE(x509::OpenCbcKeyEnvelope(*sel, x509::SoftwareCekDecryptor(*alice.key)).ok());
  // The KM knows the key by its certificate; the CA's database holds no envelope and no key.
  auto rec = this->km_->FindByCertificate(kSec, "ca-node", "biz:" + dual->certificate.record.serial_hex);
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  EXPECT_EQ(rec->status, "active");
  // A retry (same request key) returns the same certificate and the same key.
  auto again = this->ca_->IssueEncryption(kOp, {"biz", sign.record.serial_hex, "personal-enc", {}, "", ""});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->certificate.record.serial_hex, dual->certificate.record.serial_hex);
  this->ExpectOpens(alice, again->delivery, again->certificate);
}

// req: KM-06
TYPED_TEST(DualCertTest, RevocationReachesTheKmAndRecoveryGoesToTheNewCarrier) {
  auto [bob, sign] = this->SignCert("Bob");
  auto dual = this->ca_->IssueEncryption(kOp, {"biz", sign.record.serial_hex, "personal-enc", {}, "", ""});
  ASSERT_TRUE(dual.ok());
  // Subscriber recovery: Bob's new carrier has a new signing key and certificate.
  auto [carrier2, sign2] = this->SignCert("Bob");
  auto rec = this->ca_->RecoverEncryptionKey(kOp, "biz", dual->certificate.record.serial_hex,
                                             sign2.record.serial_hex, "");
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  this->ExpectOpens(carrier2, *rec, dual->certificate);
  // Another subject's signing certificate is refused.
  auto [eve, sign_eve] = this->SignCert("Eve");
  EXPECT_EQ(this->ca_->RecoverEncryptionKey(kOp, "biz", dual->certificate.record.serial_hex,
                                            sign_eve.record.serial_hex, "")
                .error()
                .code(),
            ErrorCode::kPolicyViolation);
  // Re-key: a new encryption certificate replaces the old one, whose key is then revoked.
  auto rekeyed = this->ca_->IssueEncryption(
      kOp, {"biz", sign2.record.serial_hex, "personal-enc", {}, "", dual->certificate.record.serial_hex});
  ASSERT_TRUE(rekeyed.ok()) << rekeyed.error().ToString();
  EXPECT_NE(rekeyed->delivery.key_id, dual->delivery.key_id);
  auto old_key = this->km_->FindByCertificate(kSec, "ca-node", "biz:" + dual->certificate.record.serial_hex);
  ASSERT_TRUE(old_key.ok());
  EXPECT_EQ(old_key->status, "revoked");
  EXPECT_EQ(old_key->revoke_reason, "superseded");
  // Revoking the new one at the CA revokes its key at the KM; it is never delivered again.
  ASSERT_TRUE(this->ca_->Revoke(kOp, "biz", rekeyed->certificate.record.serial_hex,
                                x509::RevocationReason::kKeyCompromise)
                  .ok());
  auto new_key = this->km_->FindByCertificate(kSec, "ca-node", "biz:" + rekeyed->certificate.record.serial_hex);
  EXPECT_EQ(new_key->status, "revoked");
  EXPECT_EQ(this->ca_->RecoverEncryptionKey(kOp, "biz", rekeyed->certificate.record.serial_hex,
                                            sign2.record.serial_hex, "")
                .error()
                .code(),
            ErrorCode::kFailedPrecondition);  // the certificate itself is revoked
}

// req: KM-08
TYPED_TEST(DualCertTest, RefusalsChangeNothing) {
  auto [carol, sign] = this->SignCert("Carol");
  auto certs = [&] {
    auto tx = this->db().BeginReadOnly();
    return (*(*tx)->QueryOne("SELECT COUNT(*) FROM certificates"))->Int(0);
  };
  auto before = certs();
  // A signing profile is not an encryption profile; a signing certificate is needed as the base.
  EXPECT_EQ(this->ca_->IssueEncryption(kOp, {"biz", sign.record.serial_hex, "personal-sign", {}, "", ""}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->ca_->IssueEncryption(kOp, {"biz", "ABCDEF", "personal-enc", {}, "", ""}).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(this->ca_->IssueEncryption(kOp, {"biz", sign.record.serial_hex, "device-enc", {}, "", ""}).error().code(),
            ErrorCode::kInvalidArgument);
  // A CA node without a KM refuses encryption profiles.
  this->ca_->SetKmGateway(nullptr);
  EXPECT_EQ(this->ca_->IssueEncryption(kOp, {"biz", sign.record.serial_hex, "personal-enc", {}, "", ""}).error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(certs(), before);
  EXPECT_EQ(this->km_->State(kSec)->escrowed, 0);
}

}  // namespace
}  // namespace gmpki::km
