// Shared fixture of the evidence log tests: a fresh database per test on the backend of the
// typed suite (store/testing/backends.h), the evidence schema, a soft crypto device holding the
// log key, the log, and helpers for raw SQL tampering.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "device/soft_device.h"
#include "services/evidence/evidence_log.h"
#include "store/testing/backends.h"

namespace gmpki::evidence::testing {

// A fresh directory for the device file.
std::filesystem::path FreshDir();

// A record with every field set; `i` makes it distinct.
EvidenceRecord Record(int i);

template <class B>
class EvidenceTest : public store::testutil::BackendTest<B> {
 protected:
  void SetUp() override {
    store::testutil::BackendTest<B>::SetUp();
    if (::testing::Test::HasFatalFailure()) return;
    ASSERT_TRUE(this->db().Migrate(EvidenceMigrations()));
    dir_ = FreshDir();
    auto master = device::GenerateMasterKey();
    ASSERT_TRUE(master);
    auto dev = device::SoftDevice::Create(dir_ / "device.key", *master);
    ASSERT_TRUE(dev) << dev.error().ToString();
    device_ = std::move(*dev);
    auto session = device_->OpenSession();
    ASSERT_TRUE(session);
    auto key = (*session)->GenerateKeyPair("evidence-log", device::KeyPurpose::kSign);
    ASSERT_TRUE(key) << key.error().ToString();
    log_key_ = key->public_key;
    auto log = OpenLog();
    ASSERT_TRUE(log) << log.error().ToString();
    log_ = std::move(*log);
  }
  void TearDown() override {
    log_.reset();
    device_.reset();
    store::testutil::BackendTest<B>::TearDown();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Result<std::unique_ptr<EvidenceLog>> OpenLog(EvidenceLogOptions options = {}) {
    return EvidenceLog::Open(this->db(), *device_, clock_, std::move(options));
  }

  // Appends Record(next), Record(next + 1), ... one at a time; asserts the indexes.
  void AppendN(int n) {
    for (int k = 0; k < n; ++k) {
      auto idx = log_->Append(Record(next_));
      ASSERT_TRUE(idx) << idx.error().ToString();
      ASSERT_EQ(*idx, static_cast<std::uint64_t>(next_));
      ++next_;
    }
  }

  SignedTreeHead Sign() {
    auto sth = log_->SignTreeHead();
    EXPECT_TRUE(sth) << sth.error().ToString();
    return sth ? *sth : SignedTreeHead{};
  }

  AuditReport Audit() {
    auto r = log_->Audit();
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : AuditReport{};
  }

  void ExecRaw(const std::string& sql, const std::vector<store::Value>& params = {}) {
    auto tx = this->db().Begin();
    ASSERT_TRUE(tx) << tx.error().ToString();
    auto r = (*tx)->Exec(sql, params);
    ASSERT_TRUE(r) << sql << ": " << r.error().ToString();
    ASSERT_TRUE((*tx)->Commit());
  }

  store::Value QueryValue(const std::string& sql, const std::vector<store::Value>& params = {}) {
    auto tx = this->db().BeginReadOnly();
    EXPECT_TRUE(tx);
    auto row = (*tx)->QueryOne(sql, params);
    EXPECT_TRUE(row && row->has_value()) << sql;
    return row && row->has_value() ? (**row).at(0) : store::Value(store::Null{});
  }

  ManualClock clock_{FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::filesystem::path dir_;
  std::unique_ptr<device::SoftDevice> device_;
  crypto::Sm2PublicKey log_key_;
  std::unique_ptr<EvidenceLog> log_;
  int next_ = 0;
};

}  // namespace gmpki::evidence::testing
