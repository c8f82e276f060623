// The key management centre on both storage backends: the CA registry, the pool, dual-certificate
// key delivery opened with the subscriber's signing key, bind / revoke / restore, the archive and
// its retention, judicial recovery under dual control, backup and restore into a fresh KM, and
// the refusals of bad input, each of which must change nothing (issue #5).
#include <gtest/gtest.h>

#include <filesystem>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/core/operators.h"
#include "services/km/km_service.h"
#include "store/testing/backends.h"
#include "x509/certificate.h"
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
const Actor kSys{"sys", Role::kSystemAdmin};
const Actor kOfficer1{"officer-1", Role::kKmOfficer};
const Actor kOfficer2{"officer-2", Role::kKmOfficer};
const Actor kCaOp{"op", Role::kCaOperator};

class ManualClock : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::seconds s) { now_ += s; }
  TimePoint now_ = FromUnixSeconds(1'800'000'000);
};

// A subscriber (or authority) with a software key and a certificate for it.
struct Holder {
  std::shared_ptr<crypto::Sm2PrivateKey> key;
  crypto::Sm2PublicKey pub;
  Bytes cert_der;
};

Holder MakeHolder(const std::string& cn, const Clock& clock) {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  Holder h;
  h.pub = kp->public_key;
  h.key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  x509::TbsSpec spec;
  spec.serial = *x509::GenerateSerial();
  spec.issuer = *x509::Name::Parse("C=CN,O=Test,CN=Test Issuing CA");
  spec.subject = *x509::Name::Parse("C=CN,O=Test,CN=" + cn);
  spec.not_before = clock.Now() - std::chrono::hours(1);
  spec.not_after = clock.Now() + std::chrono::hours(24 * 365);
  spec.subject_public_key = h.pub;
  // Self-issued is enough here: the KM trusts the registered CA for the binding, and uses the
  // certificate only for the recipient's key and IssuerAndSerialNumber.
  auto der = x509::IssueCertificate(spec, x509::MakeSoftwareSigner(h.key, h.pub));
  EXPECT_TRUE(der.ok()) << der.error().ToString();
  h.cert_der = *der;
  return h;
}

// Opens a delivered SKF blob with the holder's private key; returns the recovered key.
Result<crypto::Sm2PrivateKey> OpenSkf(const Holder& h, const Bytes& blob) {
  GMPKI_ASSIGN_OR_RETURN(auto env, x509::ParseSkfEnvelopedKeyBlob(blob));
  return x509::OpenEcbKeyEnvelope(env, x509::SoftwareCekDecryptor(*h.key));
}

template <class B>
class KmServiceTest : public BackendTest<B> {
 protected:
  void SetUp() override {
    BackendTest<B>::SetUp();
    dir_ = fs::temp_directory_path() / ("gmpki-km-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    auto mk = device::GenerateMasterKey();
    ASSERT_TRUE(mk.ok());
    master_ = mk->Clone();
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", *mk);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
    ASSERT_TRUE(this->db().Migrate(Migrations()).ok());
    KmSettings s;
    s.pool_batch = 16;
    km_ = std::make_unique<KmService>(this->db(), *device_, clock_, s);
    auto ca = km_->RegisterCa(kSec, "ministry", std::string(64, 'a'));
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = *ca;
  }
  void TearDown() override {
    km_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::vector<store::Migration> Migrations() {
    std::vector<store::Migration> all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) all.push_back(m);
    for (auto& m : KmMigrations()) all.push_back(m);
    return all;
  }
  std::int64_t AuditCount() {
    auto tx = this->db().Begin();
    auto row = (*tx)->QueryOne("SELECT COUNT(*) FROM audit_records");
    return (*row)->Int(0);
  }
  std::int64_t Count(const std::string& table) {
    auto tx = this->db().Begin();
    auto row = (*tx)->QueryOne("SELECT COUNT(*) FROM " + table);
    return (*row)->Int(0);
  }
  ApplyKeyRequest Apply(const std::string& id, const Holder& h) {
    return ApplyKeyRequest{id, h.cert_der, ToUnixSeconds(clock_.Now()) + 365 * 86400, ""};
  }

  fs::path dir_;
  SecretBytes master_;
  ManualClock clock_;
  std::unique_ptr<device::CryptoDevice> device_;
  std::unique_ptr<KmService> km_;
  KmCa ca_;
};

TYPED_TEST_SUITE(KmServiceTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: KM-01
TYPED_TEST(KmServiceTest, ServesOnlyRegisteredActiveCas) {
  EXPECT_EQ(this->km_->AuthenticateCa(std::string(64, 'b')).error().code(), ErrorCode::kUnauthenticated);
  auto ok = this->km_->AuthenticateCa(std::string(64, 'a'));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->name, "ministry");
  ASSERT_TRUE(this->km_->SuspendCa(kSec, "ministry").ok());
  EXPECT_EQ(this->km_->AuthenticateCa(std::string(64, 'a')).error().code(), ErrorCode::kPermissionDenied);
  ASSERT_TRUE(this->km_->ResumeCa(kSec, "ministry").ok());
  EXPECT_TRUE(this->km_->AuthenticateCa(std::string(64, 'a')).ok());
  // Only the security administrator registers CAs; bad names and fingerprints are refused.
  EXPECT_EQ(this->km_->RegisterCa(kSys, "other", std::string(64, 'c')).error().code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(this->km_->RegisterCa(kSec, "Bad Name", std::string(64, 'c')).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->km_->RegisterCa(kSec, "other", "ABC").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->km_->RegisterCa(kSec, "other", std::string(64, 'a')).error().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(this->Count("km_cas"), 1);
}

// req: KM-01
// req: KM-03
TYPED_TEST(KmServiceTest, DeliversAnEscrowedKeyEnvelopedToTheSigningKey) {
  ASSERT_EQ(*this->km_->RefillPool(40), 40u);
  EXPECT_EQ(*this->km_->PoolAvailable(), 40);
  Holder alice = MakeHolder("Alice", this->clock_);
  auto d = this->km_->ApplyKey(this->ca_, this->Apply("req-1", alice));
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(*this->km_->PoolAvailable(), 39);  // taken from the pool
  EXPECT_EQ(d->key.status, "issued");
  EXPECT_EQ(d->key.subject, x509::Certificate::FromDer(alice.cert_der)->subject().ToString());

  // Every form opens with the signing private key to the key of the delivered public key.
  auto k1 = OpenSkf(alice, d->skf_blob);
  ASSERT_TRUE(k1.ok()) << k1.error().ToString();
  EXPECT_EQ(*k1->DerivePublicKey(), d->key.enc_public_key);
  auto env2 = x509::ParseSm2EnvelopedKey(d->sm2_enveloped_key);
  ASSERT_TRUE(env2.ok()) << env2.error().ToString();
  auto k2 = x509::OpenSm2EnvelopedKey(*env2, x509::SoftwareCekDecryptor(*alice.key), d->key.enc_public_key);
  ASSERT_TRUE(k2.ok()) << k2.error().ToString();
  EXPECT_EQ(*k2->DerivePublicKey(), d->key.enc_public_key);
  auto env3 = x509::ParseGmEnvelopedData(d->enveloped_data);
  ASSERT_TRUE(env3.ok()) << env3.error().ToString();
  auto alice_cert = x509::Certificate::FromDer(alice.cert_der);
  auto sel = x509::SelectRecipient(*env3, x509::RecipientIdFromCertificate(*alice_cert), d->key.enc_public_key);
  ASSERT_TRUE(sel.ok()) << sel.error().ToString();
  auto k3 = x509::OpenCbcKeyEnvelope(*sel, x509::SoftwareCekDecryptor(*alice.key));
  ASSERT_TRUE(k3.ok()) << k3.error().ToString();
  EXPECT_EQ(*k3->DerivePublicKey(), d->key.enc_public_key);
  // The key decrypts what is encrypted to the encryption public key.
  auto ct = crypto::Sm2Encrypt(d->key.enc_public_key, ToBytes("payroll record"));
  EXPECT_EQ(ToString(crypto::Sm2Decrypt(*k1, *ct)->view()), "payroll record");

  // Someone else's key does not open it.
  Holder mallory = MakeHolder("Mallory", this->clock_);
  EXPECT_FALSE(OpenSkf(mallory, d->skf_blob).ok());

  // The same request again re-delivers the same key; with another signing key it is a conflict.
  auto again = this->km_->ApplyKey(this->ca_, this->Apply("req-1", alice));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key.key_id, d->key.key_id);
  EXPECT_EQ(*OpenSkf(alice, again->skf_blob)->DerivePublicKey(), d->key.enc_public_key);
  EXPECT_EQ(this->km_->ApplyKey(this->ca_, this->Apply("req-1", mallory)).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(this->Count("km_keys"), 1);
}

// req: KM-01
TYPED_TEST(KmServiceTest, EmptyPoolGeneratesOnDemandAndKeysAreDistinct) {
  Holder h = MakeHolder("Bob", this->clock_);
  std::set<std::string> pubs;
  for (int i = 0; i < 5; ++i) {
    auto d = this->km_->ApplyKey(this->ca_, this->Apply("r" + std::to_string(i), h));
    ASSERT_TRUE(d.ok()) << d.error().ToString();
    pubs.insert(HexEncode(d->key.enc_public_key.point()));
  }
  EXPECT_EQ(pubs.size(), 5u);
  EXPECT_EQ(*this->km_->PoolAvailable(), 0);
}

// req: KM-01
// req: PF-05
TYPED_TEST(KmServiceTest, PoolAndEscrowHoldNoClearKey) {
  ASSERT_TRUE(this->km_->RefillPool(4).ok());
  Holder h = MakeHolder("Carol", this->clock_);
  auto d = this->km_->ApplyKey(this->ca_, this->Apply("c1", h));
  ASSERT_TRUE(d.ok());
  auto k = OpenSkf(h, d->skf_blob);
  ASSERT_TRUE(k.ok());
  const SecretBytes& scalar = k->scalar();
  auto tx = this->db().Begin();
  auto rows = (*tx)->Query("SELECT wrapped FROM km_keys UNION ALL SELECT wrapped FROM km_pool");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);
  for (const auto& r : *rows) {
    const Bytes& w = r.Blob(0);
    auto it = std::search(w.begin(), w.end(), scalar.view().begin(), scalar.view().end());
    EXPECT_EQ(it, w.end());
  }
}

// req: KM-06
TYPED_TEST(KmServiceTest, BindRevokeAndNeverServeARevokedKey) {
  Holder h = MakeHolder("Dan", this->clock_);
  auto d = this->km_->ApplyKey(this->ca_, this->Apply("d1", h));
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(this->km_->BindCertificate(this->ca_, d->key.key_id, "5F3A01").ok());
  EXPECT_TRUE(this->km_->BindCertificate(this->ca_, d->key.key_id, "5F3A01").ok());  // repeat: same
  EXPECT_EQ(this->km_->BindCertificate(this->ca_, d->key.key_id, "77").error().code(), ErrorCode::kConflict);
  auto rec = this->km_->FindByCertificate(kSec, "ministry", "5F3A01");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->status, "active");

  // Subscriber recovery to a new carrier (a new signing key and certificate).
  Holder carrier2 = MakeHolder("Dan", this->clock_);
  auto r = this->km_->RestoreKey(this->ca_, RestoreKeyRequest{"d1-restore", "5F3A01", carrier2.cert_der});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*OpenSkf(carrier2, r->skf_blob)->DerivePublicKey(), d->key.enc_public_key);

  ASSERT_TRUE(this->km_->RevokeKey(this->ca_, "5F3A01", "keyCompromise").ok());
  EXPECT_TRUE(this->km_->RevokeKey(this->ca_, "5F3A01", "keyCompromise").ok());  // retry: done
  auto before = this->AuditCount();
  auto again = this->km_->RestoreKey(this->ca_, RestoreKeyRequest{"d1-restore-2", "5F3A01", carrier2.cert_der});
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(this->km_->ApplyKey(this->ca_, this->Apply("d1", h)).error().code(), ErrorCode::kConflict);
  EXPECT_GT(this->AuditCount(), before);  // refusals are audited
  EXPECT_EQ(this->km_->RevokeKey(this->ca_, "DEAD", "keyCompromise").error().code(), ErrorCode::kNotFound);
}

// req: KM-08
TYPED_TEST(KmServiceTest, BadInputIsRefusedAndChangesNothing) {
  ASSERT_TRUE(this->km_->RefillPool(3).ok());
  Holder h = MakeHolder("Eve", this->clock_);
  auto keys = this->Count("km_keys");
  // An envelope request for an invalid public key: a certificate whose point is off the curve.
  Bytes bad = h.cert_der;
  auto pos = std::search(bad.begin(), bad.end(), h.pub.point().begin(), h.pub.point().end());
  ASSERT_NE(pos, bad.end());
  pos[64] ^= 0x01;  // last byte of Y
  auto e1 = this->km_->ApplyKey(this->ca_, ApplyKeyRequest{"x1", bad, ToUnixSeconds(this->clock_.Now()) + 100, ""});
  EXPECT_EQ(e1.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(e1.error().message().find("sign_certificate"), std::string::npos);
  EXPECT_EQ(this->km_->ApplyKey(this->ca_, ApplyKeyRequest{"x2", ToBytes("junk"), 0, ""}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->km_->ApplyKey(this->ca_, ApplyKeyRequest{"bad id!", h.cert_der, 0, ""}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(this->km_->ApplyKey(this->ca_, ApplyKeyRequest{"x3", h.cert_der, 5, ""}).error().code(),
            ErrorCode::kInvalidArgument);  // already expired
  EXPECT_EQ(this->km_->ApplyKey(this->ca_, ApplyKeyRequest{"x4", h.cert_der,
                                                          ToUnixSeconds(this->clock_.Now()) + 100, "nope"})
                .error()
                .code(),
            ErrorCode::kNotFound);  // re-key of an unknown key
  EXPECT_EQ(this->Count("km_keys"), keys);
  EXPECT_EQ(*this->km_->PoolAvailable(), 3);
}

// req: KM-07
// req: PF-05
TYPED_TEST(KmServiceTest, ArchiveKeepsKeysTenYearsAndTheyStayRecoverable) {
  Holder h = MakeHolder("Fay", this->clock_);
  auto d = this->km_->ApplyKey(this->ca_, ApplyKeyRequest{"f1", h.cert_der,
                                                           ToUnixSeconds(this->clock_.Now()) + 86400, ""});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(this->km_->BindCertificate(this->ca_, d->key.key_id, "F1").ok());
  auto live = this->km_->ApplyKey(this->ca_, this->Apply("f2", h));
  ASSERT_TRUE(live.ok());
  this->clock_.Advance(std::chrono::hours(48));  // f1 expired
  auto rep = this->km_->ArchiveSweep();
  ASSERT_TRUE(rep.ok()) << rep.error().ToString();
  EXPECT_EQ(rep->moved, 1);
  EXPECT_EQ(this->Count("km_archive"), 1);
  EXPECT_EQ(this->Count("km_keys"), 1);
  auto arch = this->km_->GetKey(kSec, d->key.key_id);
  ASSERT_TRUE(arch.ok());
  EXPECT_TRUE(arch->archived);
  EXPECT_GE(arch->retain_until_unix, d->key.not_after_unix + 10 * 365 * 86400);
  // Expired keys are not re-delivered to subscribers...
  EXPECT_EQ(this->km_->RestoreKey(this->ca_, RestoreKeyRequest{"f1-r", "F1", h.cert_der}).error().code(),
            ErrorCode::kFailedPrecondition);
  // ...but judicial recovery reaches them (tested in full below); 9 years on they are still kept.
  this->clock_.Advance(std::chrono::hours(24 * 365 * 9));
  ASSERT_TRUE(this->km_->ArchiveSweep().ok());
  EXPECT_TRUE(this->km_->GetKey(kSec, d->key.key_id).ok());
  // Past the retention date the sweep purges it.
  this->clock_.Advance(std::chrono::hours(24 * 366 * 2));
  auto rep2 = this->km_->ArchiveSweep();
  ASSERT_TRUE(rep2.ok());
  EXPECT_GE(rep2->purged, 1);
  EXPECT_EQ(this->km_->GetKey(kSec, d->key.key_id).error().code(), ErrorCode::kNotFound);
}

// req: KM-09
TYPED_TEST(KmServiceTest, JudicialRecoveryNeedsTwoDistinctOfficersWithinTheWindow) {
  Holder h = MakeHolder("Gus", this->clock_);
  auto d = this->km_->ApplyKey(this->ca_, this->Apply("g1", h));
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(this->km_->BindCertificate(this->ca_, d->key.key_id, "61").ok());
  ASSERT_TRUE(this->km_->RevokeKey(this->ca_, "61", "keyCompromise").ok());  // revoked keys stay evidence
  Holder court = MakeHolder("Court of Justice", this->clock_);
  JudicialRecoveryRequest req{"", "ministry", "61", court.cert_der, "case 2026-117", "court order"};

  // Refusals: the wrong role, a missing authority certificate, an unknown key.
  EXPECT_EQ(this->km_->RequestJudicialRecovery(kSec, req).error().code(), ErrorCode::kPermissionDenied);
  auto noauth = req;
  noauth.authority_certificate.clear();
  EXPECT_EQ(this->km_->RequestJudicialRecovery(kOfficer1, noauth).error().code(), ErrorCode::kInvalidArgument);
  auto unknown = req;
  unknown.cert_serial = "99";
  EXPECT_EQ(this->km_->RequestJudicialRecovery(kOfficer1, unknown).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(this->Count("km_recoveries"), 0);

  auto r = this->km_->RequestJudicialRecovery(kOfficer1, req);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, "pending");
  // One officer is not enough: a second approval by the same person is refused.
  EXPECT_EQ(this->km_->ApproveJudicialRecovery(kOfficer1, r->id).error().code(), ErrorCode::kPolicyViolation);
  EXPECT_EQ(this->km_->ApproveJudicialRecovery(kSec, r->id).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(this->km_->GetRecovery(kOfficer1, r->id)->package.empty());
  auto ok = this->km_->ApproveJudicialRecovery(kOfficer2, r->id);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->status, "released");
  // The package opens only with the authority's key, to the escrowed key.
  auto pkg = x509::ParseGmEnvelopedData(ok->package);
  ASSERT_TRUE(pkg.ok());
  auto court_cert = x509::Certificate::FromDer(court.cert_der);
  auto env = x509::SelectRecipient(*pkg, x509::RecipientIdFromCertificate(*court_cert), d->key.enc_public_key);
  ASSERT_TRUE(env.ok()) << env.error().ToString();
  auto key = x509::OpenCbcKeyEnvelope(*env, x509::SoftwareCekDecryptor(*court.key));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(*key->DerivePublicKey(), d->key.enc_public_key);
  EXPECT_FALSE(x509::OpenCbcKeyEnvelope(*env, x509::SoftwareCekDecryptor(*h.key)).ok());
  EXPECT_EQ(this->km_->ApproveJudicialRecovery(kOfficer2, r->id).error().code(), ErrorCode::kFailedPrecondition);
  auto fetched = this->km_->FetchRecoveryPackage(kOfficer1, r->id);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(*fetched, ok->package);
  EXPECT_EQ(this->km_->FetchRecoveryPackage(kSec, r->id).error().code(), ErrorCode::kPermissionDenied);

  // A request nobody approves within the window expires.
  auto late = this->km_->RequestJudicialRecovery(kOfficer1, req);
  ASSERT_TRUE(late.ok());
  this->clock_.Advance(std::chrono::seconds(this->km_->settings().recovery_window_seconds + 1));
  EXPECT_EQ(this->km_->ApproveJudicialRecovery(kOfficer2, late->id).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(this->km_->GetRecovery(kOfficer2, late->id)->status, "expired");

  // Every step is in the audit trail.
  auto tx = this->db().Begin();
  auto rows = (*tx)->Query("SELECT action, outcome FROM audit_records WHERE action LIKE 'km.recovery.%'");
  ASSERT_TRUE(rows.ok());
  EXPECT_GE(rows->size(), 8u);
}

// req: KM-05
TYPED_TEST(KmServiceTest, BackupRestoresCompletelyIntoAFreshKm) {
  ASSERT_TRUE(this->km_->RefillPool(3).ok());
  Holder h = MakeHolder("Hal", this->clock_);
  std::vector<KeyDelivery> ds;
  for (int i = 0; i < 6; ++i) {
    auto d = this->km_->ApplyKey(this->ca_, this->Apply("h" + std::to_string(i), h));
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(this->km_->BindCertificate(this->ca_, d->key.key_id, "A" + std::to_string(i)).ok());
    ds.push_back(std::move(*d));
  }
  ASSERT_TRUE(this->km_->RevokeKey(this->ca_, "A0", "superseded").ok());
  ASSERT_TRUE(this->km_->ArchiveSweep().ok());  // A0 moves to the archive
  Holder court = MakeHolder("Court", this->clock_);
  ASSERT_TRUE(this->km_->RequestJudicialRecovery(
                          kOfficer1, {"", "ministry", "A1", court.cert_der, "case 1", "court order"})
                  .ok());

  EXPECT_EQ(this->km_->ExportBackup(kOfficer1).error().code(), ErrorCode::kPermissionDenied);
  BackupReport before;
  auto backup = this->km_->ExportBackup(kSys, &before);
  ASSERT_TRUE(backup.ok()) << backup.error().ToString();
  EXPECT_EQ(before.keys, 5);
  EXPECT_EQ(before.archived, 1);
  EXPECT_EQ(before.recoveries, 1);

  // A fresh KM: a new device file rebuilt from the same master key (the custodians' shares) and
  // an empty database.
  auto fresh_db = store::testutil::ScratchDatabase::Create(TypeParam::kBackend);
  ASSERT_TRUE(fresh_db.ok()) << fresh_db.error().ToString();
  ASSERT_TRUE((*fresh_db)->db().Migrate(this->Migrations()).ok());
  auto dev2 = device::SoftDevice::Create(this->dir_ / "keys2.sealed", this->master_);
  ASSERT_TRUE(dev2.ok());
  KmService km2((*fresh_db)->db(), **dev2, this->clock_, KmSettings{});

  // A tampered backup, and one sealed by another device, are refused and change nothing.
  Bytes tampered = *backup;
  tampered[tampered.size() - 20] ^= 1;
  EXPECT_EQ(km2.ImportBackup(kSys, tampered).error().code(), ErrorCode::kIntegrityFailure);
  auto other_mk = device::GenerateMasterKey();
  auto other_dev = device::SoftDevice::Create(this->dir_ / "keys3.sealed", *other_mk);
  KmService km_other(this->db(), **other_dev, this->clock_, KmSettings{});
  EXPECT_EQ(km_other.ImportBackup(kSys, *backup).error().code(), ErrorCode::kIntegrityFailure);
  EXPECT_EQ(km2.ImportBackup(kSys, ToBytes("GMPKIKMB")).error().code(), ErrorCode::kMalformedInput);

  auto restored = km2.ImportBackup(kSys, *backup);
  ASSERT_TRUE(restored.ok()) << restored.error().ToString();
  EXPECT_EQ(restored->sm3, before.sm3);
  // Complete: a backup of the restored KM has the same content digest and counts.
  BackupReport after;
  ASSERT_TRUE(km2.ExportBackup(kSys, &after).ok());
  EXPECT_EQ(after.sm3, before.sm3);
  EXPECT_EQ(after.keys, before.keys);
  // And usable: every active key is re-delivered by the restored KM and opens to the same key.
  auto ca2 = km2.AuthenticateCa(std::string(64, 'a'));
  ASSERT_TRUE(ca2.ok());
  for (int i = 1; i < 6; ++i) {
    auto r = km2.RestoreKey(*ca2, RestoreKeyRequest{"rr" + std::to_string(i), "A" + std::to_string(i), h.cert_der});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(*OpenSkf(h, r->skf_blob)->DerivePublicKey(), ds[i].key.enc_public_key);
  }
  // Restoring twice is refused: a backup goes into an empty KM only.
  EXPECT_EQ(km2.ImportBackup(kSys, *backup).error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace gmpki::km
