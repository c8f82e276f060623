// Shared fixture of the audit tests: one fresh database per test on the backend given as the
// test parameter (store/testing/backends.h; "Postgres" cases run under the `pg` fixture), the
// audit schema, a soft crypto device with the audit key, and
// a few helpers for raw tampering.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "audit/audit.h"
#include "base/clock.h"
#include "device/soft_device.h"
#include "store/store.h"
#include "store/testing/backends.h"

namespace gmpki::audit::testing {

class AuditTest : public ::testing::TestWithParam<store::Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // An event with every field set; `i` makes it distinct.
  AuditEvent Event(int i) const;
  // Appends the next `n` events (Event(1), Event(2), ... across calls), each in its own
  // committed transaction.
  void AppendN(int n);
  // Runs one statement in its own committed transaction; asserts success.
  void ExecRaw(const std::string& sql, const std::vector<store::Value>& params = {});
  std::int64_t QueryInt(const std::string& sql, const std::vector<store::Value>& params = {});
  VerifyReport Verify();
  Checkpoint Sign();

  std::unique_ptr<store::testutil::ScratchDatabase> scratch_;
  store::Database* db_ = nullptr;  // owned by scratch_
  std::unique_ptr<device::SoftDevice> device_;
  std::unique_ptr<device::Session> session_;
  std::uint32_t key_index_ = 0;
  crypto::Sm2PublicKey audit_key_;
  ManualClock clock_{FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::filesystem::path dir_;                       // the device file
  int next_event_ = 1;
};

std::string BackendName(const ::testing::TestParamInfo<store::Backend>& info);

}  // namespace gmpki::audit::testing
