// Shared by the CMP tests: a CA hierarchy root -> industry -> "ministry-ca" in a soft device on
// a scratch database, a CmpService over it, and the `openssl cmp` client as a subprocess.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/audit.h"
#include "crypto/random.h"
#include "device/soft_device.h"
#include "services/ca/ca_service.h"
#include "services/cmp/cmp_message.h"
#include "services/cmp/cmp_service.h"
#include "services/core/operators.h"
#include "store/testing/backends.h"
#include "x509/chain.h"
#include "x509/certificate.h"

namespace gmpki::cmp::testing {

namespace fs = std::filesystem;

inline const services::Actor kSec{"sec", services::Role::kSecurityAdmin};
inline const services::Actor kOp{"op", services::Role::kCaOperator};

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline Bytes ReadBytes(const fs::path& p) { return ToBytes(ReadText(p)); }

// Runs a shell command; returns its exit status and fills `output` with stdout+stderr.
inline int Shell(const std::string& cmd, const fs::path& log, std::string* output = nullptr) {
  int rc = std::system((cmd + " > '" + log.string() + "' 2>&1").c_str());
  if (output) *output = ReadText(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

template <class T>
Status AsStatus(const Result<T>& r) {
  if (!r.ok()) return r.error();
  return OkStatus();
}

class CmpEnvironment {
 public:
  Status SetUp(store::Database& db) {
    dir_ = fs::temp_directory_path() / ("gmpki-cmp-test-" + HexEncode(*crypto::RandomBytes(8)));
    fs::create_directories(dir_);
    GMPKI_ASSIGN_OR_RETURN(auto mk, device::GenerateMasterKey());
    GMPKI_ASSIGN_OR_RETURN(device_, device::SoftDevice::Create(dir_ / "keys.sealed", mk));
    std::vector<store::Migration> all = services::CoreMigrations();
    for (auto& m : audit::AuditMigrations()) all.push_back(m);
    for (auto& m : ca::CaMigrations()) all.push_back(m);
    for (auto& m : CmpMigrations()) all.push_back(m);
    GMPKI_RETURN_IF_ERROR(db.Migrate(all));
    ca_ = std::make_unique<ca::CaService>(db, *device_, clock_, ca::CaSettings{});
    GMPKI_RETURN_IF_ERROR(AsStatus(ca_->CreateRoot(kSec, "root", "C=CN,O=Test,CN=Test Root", 7300)));
    GMPKI_RETURN_IF_ERROR(AsStatus(ca_->CreateSubordinate(kSec, "root", "industry",
                                                          "C=CN,O=Test,CN=Industry", "industry",
                                                          5000)));
    GMPKI_RETURN_IF_ERROR(AsStatus(ca_->CreateSubordinate(kSec, "industry", "ministry-ca",
                                                 "C=CN,O=Test,CN=Ministry CA", "business", 3650)
                              ));
    cmp_ = std::make_unique<CmpService>(db, *device_, *ca_, clock_);
    return OkStatus();
  }
  void TearDown() {
    cmp_.reset();
    ca_.reset();
    device_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A new SM2 key in PEM (openssl genpkey) at dir/<name>.key.
  fs::path NewKey(const std::string& name) {
    fs::path p = dir_ / (name + ".key");
    EXPECT_EQ(Shell("openssl genpkey -algorithm SM2 -out '" + p.string() + "'", dir_ / "genpkey.log"), 0);
    return p;
  }
  crypto::Sm2PublicKey PublicKeyOf(const fs::path& key) {
    fs::path pub = key.string() + ".pub.der";
    EXPECT_EQ(Shell("openssl pkey -in '" + key.string() + "' -pubout -outform DER -out '" +
                        pub.string() + "'", dir_ / "pkey.log"), 0);
    auto k = crypto::Sm2PublicKey::FromSpkiDer(ReadBytes(pub));
    EXPECT_TRUE(k.ok());
    return *k;
  }
  // The certificate chains to the root under the GM/T rule.
  void ExpectChains(const x509::Certificate& leaf) {
    auto chain = ca_->CaChain("ministry-ca");
    ASSERT_TRUE(chain.ok());
    std::vector<x509::Certificate> inter(chain->begin(), chain->end() - 1);
    x509::ChainOptions o;
    o.at = clock_.Now();
    auto path = x509::VerifyChain(leaf, inter, {chain->back()}, o);
    EXPECT_TRUE(path.ok()) << path.error().ToString();
  }
  std::int64_t Count(store::Database& db, const std::string& sql) {
    auto tx = db.BeginReadOnly();
    auto row = (*tx)->QueryOne(sql);
    return (*row)->Int(0);
  }

  fs::path dir_;
  SystemClock clock_;
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<ca::CaService> ca_;
  std::unique_ptr<CmpService> cmp_;
};

}  // namespace gmpki::cmp::testing
