#include "audit/audit_test_fixture.h"

#include <unistd.h>

#include <atomic>

namespace gmpki::audit::testing {
namespace {

std::filesystem::path FreshDir() {
  static std::atomic<int> counter{0};
  auto dir =
      std::filesystem::temp_directory_path() / ("gmpki_audit_test_" + std::to_string(::getpid()) +
                                                "_" + std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

std::string BackendName(const ::testing::TestParamInfo<store::Backend>& info) {
  return info.param == store::Backend::kSqlite ? "Sqlite" : "Postgres";
}

void AuditTest::SetUp() {
  dir_ = FreshDir();
  auto scratch = store::testutil::ScratchDatabase::Create(GetParam());
  ASSERT_TRUE(scratch) << scratch.error().ToString();
  scratch_ = std::move(*scratch);
  db_ = &scratch_->db();
  auto migrated = db_->Migrate(AuditMigrations());
  ASSERT_TRUE(migrated) << migrated.error().ToString();

  auto master = device::GenerateMasterKey();
  ASSERT_TRUE(master);
  auto dev = device::SoftDevice::Create(dir_ / "device.key", *master);
  ASSERT_TRUE(dev) << dev.error().ToString();
  device_ = std::move(*dev);
  auto session = device_->OpenSession();
  ASSERT_TRUE(session) << session.error().ToString();
  session_ = std::move(*session);
  auto key = session_->GenerateKeyPair("audit-checkpoint", device::KeyPurpose::kSign);
  ASSERT_TRUE(key) << key.error().ToString();
  key_index_ = key->index;
  audit_key_ = key->public_key;
}

void AuditTest::TearDown() {
  session_.reset();
  device_.reset();
  db_ = nullptr;
  scratch_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

AuditEvent AuditTest::Event(int i) const {
  AuditEvent e;
  e.actor = "operator-" + std::to_string(i % 3);
  e.role = "ca-operator";
  e.action = i % 2 ? "cert.issue" : "cert.revoke";
  e.object = "cert:" + std::to_string(1000 + i);
  e.outcome = i % 4 == 0 ? Outcome::kFailure : Outcome::kSuccess;
  e.detail = "{\"n\":" + std::to_string(i) + "}";
  e.time = clock_.Now() + std::chrono::seconds(i);
  e.node = "node-a";
  return e;
}

void AuditTest::AppendN(int n) {
  for (int k = 0; k < n; ++k) {
    const int i = next_event_++;
    auto tx = db_->Begin();
    ASSERT_TRUE(tx) << tx.error().ToString();
    auto st = AppendAudit(**tx, Event(i));
    ASSERT_TRUE(st) << st.error().ToString();
    auto c = (*tx)->Commit();
    ASSERT_TRUE(c) << c.error().ToString();
  }
}

void AuditTest::ExecRaw(const std::string& sql, const std::vector<store::Value>& params) {
  auto tx = db_->Begin();
  ASSERT_TRUE(tx) << tx.error().ToString();
  auto r = (*tx)->Exec(sql, params);
  ASSERT_TRUE(r) << sql << ": " << r.error().ToString();
  auto c = (*tx)->Commit();
  ASSERT_TRUE(c) << c.error().ToString();
}

std::int64_t AuditTest::QueryInt(const std::string& sql, const std::vector<store::Value>& params) {
  auto tx = db_->Begin();
  EXPECT_TRUE(tx);
  if (!tx) return -1;
  auto row = (*tx)->QueryOne(sql, params);
  EXPECT_TRUE(row && row->has_value()) << sql;
  (void)(*tx)->Rollback();
  return row && row->has_value() ? (**row).Int(0) : -1;
}

VerifyReport AuditTest::Verify() {
  auto r = VerifyAudit(*db_, audit_key_);
  EXPECT_TRUE(r) << r.error().ToString();
  return r ? *r : VerifyReport{};
}

Checkpoint AuditTest::Sign() {
  auto c = SignCheckpoint(*db_, *session_, key_index_, clock_);
  EXPECT_TRUE(c) << c.error().ToString();
  return c ? *c : Checkpoint{};
}

}  // namespace gmpki::audit::testing
