// Shared by the VA tests: a CA node (SQLite, soft device, root -> industry -> two business
// CAs), delegated OCSP signers, the status index fed from the CA database, and hand-built OCSP
// requests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "crypto/random.h"
#include "crypto/sm2.h"
#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"
#include "services/va/ca_status_source.h"
#include "services/va/ocsp_responder.h"
#include "services/va/ocsp_signers.h"
#include "store/testing/backends.h"
#include "x509/csr.h"
#include "x509/der.h"
#include "x509/name.h"
#include "x509/ocsp.h"
#include "x509/signer.h"

namespace gmpki::va::testing {

namespace fs = std::filesystem;

inline const services::Actor kSec{"sec", services::Role::kSecurityAdmin};
inline const services::Actor kOp{"op", services::Role::kCaOperator};

// An OCSPRequest with the given CertIDs and optional nonce (RFC 6960 section 4.1.1), DER.
inline Bytes BuildRequest(const std::vector<x509::OcspCertId>& ids,
                          std::optional<Bytes> nonce = std::nullopt) {
  namespace der = x509::der;
  std::vector<Bytes> list;
  for (const auto& id : ids) {
    Bytes cert_id =
        der::Sequence({der::Sequence({der::OidLiteral(id.hash_oid), der::Null()}),
                       der::OctetString(id.issuer_name_hash), der::OctetString(id.issuer_key_hash),
                       der::IntegerFromUnsigned(id.serial)});
    list.push_back(der::Sequence({cert_id}));
  }
  std::vector<Bytes> tbs{der::Sequence(list)};
  if (nonce) {
    Bytes ext = der::Sequence(
        {der::OidLiteral(x509::oid::kOcspNonce), der::OctetString(der::OctetString(*nonce))});
    tbs.push_back(der::Explicit(2, der::Sequence({ext})));
  }
  return der::Sequence({der::Sequence(tbs)});
}

class VaFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gmpki-va-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    auto scratch = store::testutil::ScratchDatabase::Create(store::Backend::kSqlite);
    ASSERT_TRUE(scratch.ok()) << scratch.error().ToString();
    scratch_ = std::move(*scratch);
    auto mk = device::GenerateMasterKey();
    ASSERT_TRUE(mk.ok());
    auto dev = device::SoftDevice::Create(dir_ / "keys.sealed", *mk);
    ASSERT_TRUE(dev.ok()) << dev.error().ToString();
    device_ = std::move(*dev);
    std::vector<store::Migration> all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) all.push_back(m);
    for (auto& m : ca::CaMigrations()) all.push_back(m);
    for (auto& m : VaMigrations()) all.push_back(m);
    ASSERT_TRUE(db().Migrate(all).ok());
    ca_ = std::make_unique<ca::CaService>(db(), *device_, clock_, ca::CaSettings{});
    ASSERT_TRUE(ca_->CreateRoot(kSec, "root", "C=CN,O=Test,CN=Test Root", 7300).ok());
    ASSERT_TRUE(ca_->CreateSubordinate(kSec, "root", "industry", "C=CN,O=Test,CN=Industry",
                                       "industry", 5000)
                    .ok());
    for (const char* name : {"biz", "biz2"}) {
      auto biz = ca_->CreateSubordinate(
          kSec, "industry", name, std::string("C=CN,O=Test,CN=Business ") + name, "business", 3650);
      ASSERT_TRUE(biz.ok()) << biz.error().ToString();
    }
    signers_ = std::make_unique<OcspSignerManager>(db(), *device_, clock_);
    source_ = std::make_unique<CaStatusSource>(db(), index_, clock_);
  }
  void TearDown() override {
    responder_.reset();
    signers_.reset();
    ca_.reset();
    device_.reset();
    scratch_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  store::Database& db() { return scratch_->db(); }

  // Signers for every CA, the index loaded, the responder ready.
  void StartResponder(ResponderSettings settings = {}) {
    responder_ = std::make_unique<OcspResponder>(index_, settings);
    auto n = signers_->ProvisionAll(kOp, *ca_, *responder_);
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    ASSERT_EQ(*n, 4u);
    auto st = source_->LoadAll();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
  }

  ca::IssuedCertificate IssueEe(const std::string& ca, const std::string& cn) {
    auto kp = crypto::Sm2GenerateKeyPair();
    EXPECT_TRUE(kp.ok());
    auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
    auto signer = x509::MakeSoftwareSigner(key, kp->public_key);
    auto csr = x509::BuildCsr(*x509::Name::Parse("C=CN,O=Test,CN=" + cn), signer);
    EXPECT_TRUE(csr.ok());
    ca::IssueRequest req;
    req.ca = ca;
    req.profile = "personal-sign";
    req.csr = *csr;
    auto issued = ca_->Issue(kOp, req);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    return *issued;
  }

  x509::Certificate CaCert(const std::string& ca) {
    auto rec = ca_->GetCa(ca);
    EXPECT_TRUE(rec.ok());
    return *x509::Certificate::FromDer(rec->cert_der);
  }

  x509::OcspCertId IdFor(const std::string& ca, const std::string& serial_hex,
                         std::string_view hash = x509::oid::kSha1) {
    auto id = x509::MakeOcspCertId(CaCert(ca), *SerialOctets(serial_hex), hash);
    EXPECT_TRUE(id.ok());
    return *id;
  }

  // Asks the responder and parses the answer.
  x509::OcspResponse Ask(const std::vector<x509::OcspCertId>& ids, TimePoint now,
                         std::optional<Bytes> nonce = std::nullopt, OcspAnswer* out = nullptr) {
    OcspAnswer a = responder_->Respond(BuildRequest(ids, nonce), now);
    EXPECT_TRUE(a.body);
    auto parsed = x509::ParseOcspResponse(a.body->der);
    EXPECT_TRUE(parsed.ok()) << parsed.error().ToString();
    if (out) *out = a;
    return *parsed;
  }

  fs::path dir_;
  std::unique_ptr<store::testutil::ScratchDatabase> scratch_;
  ManualClock clock_{
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now())};
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<ca::CaService> ca_;
  StatusIndex index_;
  std::unique_ptr<OcspSignerManager> signers_;
  std::unique_ptr<CaStatusSource> source_;
  std::unique_ptr<OcspResponder> responder_;
};

}  // namespace gmpki::va::testing
