// Test environment for the RA: its own database, a real CA (root -> industry -> business) in a
// second database reached through LocalCaGateway, a soft crypto device for the CA keys and the
// personal-data keys, a registration point with three bound ra-operators.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include "audit/audit.h"
#include "base/log.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"
#include "services/ra/ra_service.h"
#include "services/ra_link/local_gateway.h"
#include "store/testing/backends.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/pem.h"
#include "x509/signer.h"

namespace gmpki::ra::testing {

namespace fs = std::filesystem;
using services::Actor;
using services::Role;

inline const Actor kSys{"sys", Role::kSystemAdmin};
inline const Actor kAlice{"alice", Role::kRaOperator};
inline const Actor kBob{"bob", Role::kRaOperator};
inline const Actor kCarol{"carol", Role::kRaOperator};
inline const Actor kDave{"dave", Role::kRaOperator};  // never bound to a point

// Test data, not real people: resident ID numbers built with the GB 11643-1999 check character
// for region 110105 (Beijing Chaoyang) and a sequence code.
inline std::string ResidentId(int seq) {
  char base[18];
  std::snprintf(base, sizeof base, "11010519900307%03d", seq % 1000);
  static const int kW[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (base[i] - '0') * kW[i];
  return std::string(base, 17) + "10X98765432"[sum % 11];
}

// Published unified social credit codes (national enterprise credit information publicity
// system, printed on the companies' business licences): Huawei Technologies, Alibaba (China),
// Tencent Technology (Shenzhen).
inline constexpr const char* kUsccHuawei = "914403001922038216";
inline constexpr const char* kUsccAlibaba = "91330100716105852F";
inline constexpr const char* kUsccTencent = "9144030071526726XG";

// A social security number for test person `id_number` (unique per test person).
inline std::string Ssn(const std::string& id_number) { return "SS" + id_number.substr(10); }

inline SubscriberInput Person(const std::string& name, const std::string& id_number) {
  SubscriberInput in;
  in.kind = "person";
  in.name = name;
  in.id_kind = "resident-id";
  in.id_number = id_number;
  in.social_security = Ssn(id_number);
  in.phone = "13800138000";
  in.address = "北京市朝阳区建国路88号";
  in.email = "person@example.cn";
  return in;
}

inline SubscriberInput Organization(const std::string& name, const std::string& uscc) {
  SubscriberInput in;
  in.kind = "organization";
  in.name = name;
  in.uscc = uscc;
  in.legal_representative = "张三";
  return in;
}

inline Bytes CsrDer(const std::string& dn = "C=CN,O=MOHRSS,CN=Test Subscriber") {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  auto der = x509::BuildCsr(*x509::Name::Parse(dn), x509::MakeSoftwareSigner(key, kp->public_key));
  EXPECT_TRUE(der.ok());
  return *der;
}

// Lets a test lose the CA's first answer, as a dropped connection after the CA issued would.
class LossyGateway final : public CaGateway {
 public:
  explicit LossyGateway(CaGateway& inner) : inner_(inner) {}
  std::atomic<int> lose_next_answers{0};
  std::atomic<int> issue_calls{0};
  ca::IdentityAttributes last_identity;

  std::string RaName() const override { return inner_.RaName(); }
  Result<ca::IssuedCertificate> Issue(const std::string& id, const ca::IssueRequest& r) override {
    ++issue_calls;
    last_identity = r.identity;
    auto res = inner_.Issue(id, r);
    if (lose_next_answers > 0) {
      --lose_next_answers;
      return Error(ErrorCode::kUnavailable, "connection to the CA lost");
    }
    return res;
  }
  std::vector<Result<ca::IssuedCertificate>> IssueMany(const std::vector<GatewayIssue>& items) override {
    return inner_.IssueMany(items);
  }
  Result<ca::IssuedCertificate> Renew(const std::string& id, const std::string& ca,
                                      const std::string& serial, std::optional<int> days) override {
    return inner_.Renew(id, ca, serial, days);
  }
  Status Revoke(const std::string& id, const std::string& ca, const std::string& serial,
                x509::RevocationReason reason) override {
    return inner_.Revoke(id, ca, serial, reason);
  }
  Result<ca::DualIssued> IssueEncryption(const std::string& id,
                                         const ca::EncryptionIssueRequest& r) override {
    ++issue_calls;
    auto res = inner_.IssueEncryption(id, r);
    if (lose_next_answers > 0) {
      --lose_next_answers;
      return Error(ErrorCode::kUnavailable, "connection to the CA lost");
    }
    return res;
  }
  Result<ca::KmKeyDelivery> RecoverEncryptionKey(const std::string& id, const std::string& ca,
                                                 const std::string& enc_serial,
                                                 const std::string& sign_serial) override {
    return inner_.RecoverEncryptionKey(id, ca, enc_serial, sign_serial);
  }
  Result<ca::CertRecord> GetCertificate(const std::string& ca, const std::string& serial) override {
    return inner_.GetCertificate(ca, serial);
  }
  Result<std::vector<Bytes>> CaChain(const std::string& ca) override { return inner_.CaChain(ca); }

 private:
  CaGateway& inner_;
};

// Everything an RA test needs. `ra_db` is the RA's own database (the caller owns it).
class RaEnv {
 public:
  void SetUp(store::Backend backend, store::Database& ra_db, bool with_operators = false) {
    ra_db_ = &ra_db;
    dir_ = fs::temp_directory_path() / ("gmpki-ra-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    auto mk = device::GenerateMasterKey();
    ASSERT_TRUE(mk.ok());
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", *mk);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
    auto ca_db = store::testutil::ScratchDatabase::Create(backend);
    ASSERT_TRUE(ca_db.ok()) << ca_db.error().ToString();
    ca_db_ = std::move(*ca_db);
    std::vector<store::Migration> ca_all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) ca_all.push_back(m);
    for (auto& m : ca::CaMigrations()) ca_all.push_back(m);
    ASSERT_TRUE(ca_db_->db().Migrate(ca_all).ok());
    ca_ = std::make_unique<ca::CaService>(ca_db_->db(), *device_, clock_, ca::CaSettings{});
    const Actor sec{"sec", Role::kSecurityAdmin};
    ASSERT_TRUE(ca_->CreateRoot(sec, "root", "C=CN,O=Test,CN=Test Root", 7300).ok());
    ASSERT_TRUE(ca_->CreateSubordinate(sec, "root", "industry", "C=CN,O=Test,CN=Industry",
                                       "industry", 5000).ok());
    ASSERT_TRUE(ca_->CreateSubordinate(sec, "industry", "biz", "C=CN,O=Test,CN=Business",
                                       "business", 3650).ok());
    ca_baseline_ = Count(ca_db_->db(), "certificates");
    local_ = std::make_unique<LocalCaGateway>(*ca_, "city-ra");
    gateway_ = std::make_unique<LossyGateway>(*local_);

    std::vector<store::Migration> ra_all;
    if (with_operators) ra_all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) ra_all.push_back(m);
    for (auto& m : RaMigrations()) ra_all.push_back(m);
    ASSERT_TRUE(ra_db.Migrate(ra_all).ok());
    auto codec = pii::PiiCodec::Create(*device_);
    ASSERT_TRUE(codec.ok()) << codec.error().ToString();
    pii_ = std::make_shared<const pii::PiiCodec>(std::move(*codec));
    ra_ = std::make_unique<RaService>(ra_db, pii_, *gateway_, clock_,
                                      RaSettings{"node-1", "city-ra"});
    ASSERT_TRUE(ra_->CreatePoint(kSys, "chaoyang-01", "Chaoyang service hall", "Beijing").ok());
    for (const auto* a : {&kAlice, &kBob, &kCarol}) {
      ASSERT_TRUE(ra_->BindOperator(kSys, a->name, "chaoyang-01").ok());
    }
  }
  void TearDown() {
    ra_.reset();
    gateway_.reset();
    local_.reset();
    ca_.reset();
    ca_db_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::int64_t Count(store::Database& db, const std::string& table) {
    auto tx = db.BeginReadOnly();
    auto row = (*tx)->QueryOne("SELECT COUNT(*) FROM " + table);
    return (*row)->Int(0);
  }
  std::int64_t RaCount(const std::string& table) { return Count(*ra_db_, table); }
  // Certificates the CA issued since SetUp (its table also holds the subordinate CA certificates).
  std::int64_t CaCertificates() { return Count(ca_db_->db(), "certificates") - ca_baseline_; }

  // Enters a subscriber as alice and has bob approve it.
  SubscriberView Approved(const SubscriberInput& in) {
    auto s = ra_->EnterSubscriber(kAlice, in);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    auto r = ra_->ReviewSubscriber(kBob, s->id, {true, ""});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return *r;
  }
  // A completed issue request: alice requests, bob approves.
  RequestView Issued(const std::string& subscriber, const std::string& profile = "personal-sign") {
    CertRequestInput in{subscriber, "biz", profile, CsrDer(), std::nullopt};
    auto req = ra_->RequestCertificate(kAlice, in);
    EXPECT_TRUE(req.ok()) << req.error().ToString();
    auto done = ra_->ReviewRequest(kBob, req->id, {true, ""});
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    return *done;
  }

  fs::path dir_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<store::testutil::ScratchDatabase> ca_db_;
  std::unique_ptr<ca::CaService> ca_;
  std::unique_ptr<LocalCaGateway> local_;
  std::unique_ptr<LossyGateway> gateway_;
  std::shared_ptr<const pii::PiiCodec> pii_;
  std::unique_ptr<RaService> ra_;
  store::Database* ra_db_ = nullptr;
  std::int64_t ca_baseline_ = 0;
};

}  // namespace gmpki::ra::testing
