// The audit log inside operations: records commit and roll back with their operation, a
// failed append stops the operation, concurrent appends keep one chain, search (CC-FAU).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "audit/audit.h"
#include "audit/audit_test_fixture.h"

namespace gmpki::audit::testing {
namespace {

using ::testing::HasSubstr;

// An "operation" the tests audit: a row in a table of their own.
class AuditOpsTest : public AuditTest {
 protected:
  void SetUp() override {
    AuditTest::SetUp();
    if (HasFatalFailure()) return;
    ExecRaw("CREATE TABLE test_ops (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  }
  std::int64_t OpCount() { return QueryInt("SELECT COUNT(*) FROM test_ops"); }
  std::int64_t RecordCount() { return QueryInt("SELECT COUNT(*) FROM audit_records"); }
  static Status InsertOp(store::Transaction& tx, std::int64_t id) {
    auto r = tx.Exec("INSERT INTO test_ops (id, name) VALUES (?, ?)",
                     {id, std::string("op-") + std::to_string(id)});
    if (!r) return r.error();
    return OkStatus();
  }
  std::vector<AuditRecord> Search(const AuditQuery& q) {
    auto tx = db_->Begin();
    EXPECT_TRUE(tx);
    if (!tx) return {};
    auto r = SearchAudit(**tx, q);
    EXPECT_TRUE(r) << r.error().ToString();
    (void)(*tx)->Rollback();
    return r ? *r : std::vector<AuditRecord>{};
  }
};

// req: CC-FAU
TEST_P(AuditOpsTest, RollbackRemovesTheRecordWithItsOperation) {
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(InsertOp(**tx, 1));
    ASSERT_TRUE(AppendAudit(**tx, Event(1)));
    ASSERT_TRUE((*tx)->Rollback());
  }
  {
    // Dropping the transaction without Commit rolls back as well.
    auto tx = db_->Begin();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(InsertOp(**tx, 2));
    ASSERT_TRUE(AppendAudit(**tx, Event(2)));
  }
  EXPECT_EQ(OpCount(), 0);
  EXPECT_EQ(RecordCount(), 0);
  EXPECT_EQ(QueryInt("SELECT seq FROM audit_head WHERE id = 1"), 0);

  // The chain continues without a gap and the committed pair is there together.
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  ASSERT_TRUE(InsertOp(**tx, 3));
  ASSERT_TRUE(AppendAudit(**tx, Event(3)));
  ASSERT_TRUE((*tx)->Commit());
  EXPECT_EQ(OpCount(), 1);
  EXPECT_EQ(QueryInt("SELECT seq FROM audit_records"), 1);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.records_checked, 1);
}

// req: CC-FAU
TEST_P(AuditOpsTest, AppendFailureStopsTheOperation) {
  AppendN(2);
  // Occupy the next seq so the audit insert violates the primary key.
  ExecRaw(
      "INSERT INTO audit_records (seq, time_unix, actor, role, action, object, outcome,"
      " detail, node, prev_hash, hash) VALUES (3, 0, 'x', '', 'x', '', 1, '', '', ?, ?)",
      {Bytes(32, 0), Bytes(32, 0)});
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(InsertOp(**tx, 1));
    Status st = AppendAudit(**tx, Event(3));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kAuditFailure);
  }
  Status st = RunAudited(*db_, Event(3), [](store::Transaction& tx) { return InsertOp(tx, 1); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kAuditFailure);
  EXPECT_EQ(OpCount(), 0);
  EXPECT_EQ(QueryInt("SELECT seq FROM audit_head WHERE id = 1"), 2);
}

// req: CC-FAU
TEST_P(AuditOpsTest, MissingAuditTableStopsTheOperation) {
  ExecRaw("DROP TABLE audit_records");
  Status st = RunAudited(*db_, Event(1), [](store::Transaction& tx) { return InsertOp(tx, 7); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kAuditFailure);
  EXPECT_EQ(OpCount(), 0);
  auto r = VerifyAudit(*db_, audit_key_);
  EXPECT_FALSE(r && r->ok);
}

// req: CC-FAU
TEST_P(AuditOpsTest, RunAuditedRecordsSuccessAndFailure) {
  Status ok = RunAudited(*db_, Event(1), [](store::Transaction& tx) { return InsertOp(tx, 1); });
  ASSERT_TRUE(ok) << ok.error().ToString();
  // The second attempt fails inside the operation (duplicate id) after writing nothing.
  Status dup = RunAudited(*db_, Event(2), [](store::Transaction& tx) -> Status {
    GMPKI_RETURN_IF_ERROR(InsertOp(tx, 2));
    return InsertOp(tx, 1);
  });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(OpCount(), 1);

  std::vector<AuditRecord> recs = Search(AuditQuery{});
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].event.outcome, Outcome::kSuccess);
  EXPECT_EQ(recs[1].event.outcome, Outcome::kFailure);
  EXPECT_EQ(recs[1].event.action, Event(2).action);
  EXPECT_THAT(recs[1].event.detail, HasSubstr("\"error\":\"already-exists\""));
  EXPECT_THAT(recs[1].event.detail, HasSubstr("\"n\":2"));
  EXPECT_TRUE(Verify().ok);
}

// req: CC-FAU
TEST_P(AuditOpsTest, ConcurrentAppendsKeepOneChain) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t id = t * 1000 + i;
        AuditEvent e = Event(static_cast<int>(id));
        e.node = "node-" + std::to_string(t);
        Status st = RunAudited(*db_, e, [id](store::Transaction& tx) { return InsertOp(tx, id); });
        if (!st) {
          ADD_FAILURE() << st.error().ToString();
          ++failures;
        }
      }
    });
  }
  // A reviewer verifying while the appends run sees a consistent snapshot every time.
  std::atomic<bool> done{false};
  int verified = 0;
  std::thread verifier([&] {
    while (!done.load()) {
      auto r = VerifyAudit(*db_, audit_key_);
      ASSERT_TRUE(r) << r.error().ToString();
      EXPECT_TRUE(r->ok) << r->first_failing_seq << ": " << r->message;
      ++verified;
    }
  });
  for (auto& th : threads) th.join();
  done = true;
  verifier.join();
  EXPECT_GT(verified, 0);
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(OpCount(), kThreads * kPerThread);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.first_failing_seq << ": " << r.message;
  EXPECT_EQ(r.records_checked, kThreads * kPerThread);
  EXPECT_EQ(r.head_seq, kThreads * kPerThread);
}

// req: CC-FAU
TEST_P(AuditOpsTest, SearchFilters) {
  AppendN(12);  // actors operator-0/1/2, actions alternate, every 4th a failure
  AuditEvent odd = Event(13);
  odd.object = "Cert:100%_x";
  odd.actor = "auditor";
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(AppendAudit(**tx, odd));
    ASSERT_TRUE((*tx)->Commit());
  }

  AuditQuery q;
  q.actor = "operator-1";
  std::vector<AuditRecord> recs = Search(q);
  ASSERT_EQ(recs.size(), 4u);  // 1, 4, 7, 10
  for (const auto& r : recs) EXPECT_EQ(r.event.actor, "operator-1");
  EXPECT_EQ(recs[0].seq, 1);

  q = AuditQuery{};
  q.action = "cert.revoke";
  q.outcome = Outcome::kFailure;
  recs = Search(q);
  ASSERT_EQ(recs.size(), 3u);  // 4, 8, 12
  EXPECT_EQ(recs[2].seq, 12);

  // Prefix match is literal and case-sensitive: '%' and '_' are not wildcards.
  q = AuditQuery{};
  q.object_prefix = "cert:100";
  recs = Search(q);
  EXPECT_EQ(recs.size(), 9u);  // cert:1001 .. cert:1009
  q.object_prefix = "Cert:100%";
  recs = Search(q);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].seq, 13);
  q.object_prefix = "cert:100%";
  EXPECT_TRUE(Search(q).empty());
  q.object_prefix = "Cert:1000";
  EXPECT_TRUE(Search(q).empty());

  // Time range [from, to): events i are at base + i seconds.
  q = AuditQuery{};
  q.from = clock_.Now() + std::chrono::seconds(3);
  q.to = clock_.Now() + std::chrono::seconds(6);
  recs = Search(q);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].seq, 3);
  EXPECT_EQ(recs[2].seq, 5);

  // Paging, newest first.
  q = AuditQuery{};
  q.newest_first = true;
  q.limit = 5;
  q.offset = 2;
  recs = Search(q);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].seq, 11);
  EXPECT_EQ(recs[4].seq, 7);

  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  q = AuditQuery{};
  q.limit = 0;
  auto bad = SearchAudit(**tx, q);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  q.limit = 10;
  q.offset = -1;
  EXPECT_FALSE(SearchAudit(**tx, q));
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, AuditOpsTest,
                         ::testing::Values(store::Backend::kSqlite, store::Backend::kPostgres),
                         BackendName);

}  // namespace gmpki::audit::testing
