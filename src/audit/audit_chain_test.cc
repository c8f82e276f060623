// The audit chain: append, verify, and detection of every kind of tampering (CC-FAU).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit/audit.h"
#include "audit/audit_test_fixture.h"
#include "audit/chain.h"
#include "crypto/sm2.h"

namespace gmpki::audit::testing {
namespace {

using ::testing::HasSubstr;

// req: CC-FAU
TEST(AuditRecordHash, EveryFieldIsBoundAndLengthPrefixed) {
  AuditEvent e;
  e.actor = "ab";
  e.role = "c";
  e.action = "login";
  e.time = FromUnixSeconds(1700000000);
  const Bytes zero(32, 0);
  const Bytes base = internal::ComputeRecordHash(1, zero, e);
  EXPECT_EQ(base.size(), 32u);
  EXPECT_EQ(base, internal::ComputeRecordHash(1, zero, e));

  // Moving a character across a field boundary changes the hash (length prefixes).
  AuditEvent shifted = e;
  shifted.actor = "a";
  shifted.role = "bc";
  EXPECT_NE(base, internal::ComputeRecordHash(1, zero, shifted));

  EXPECT_NE(base, internal::ComputeRecordHash(2, zero, e));
  EXPECT_NE(base, internal::ComputeRecordHash(1, Bytes(32, 1), e));
  auto differs = [&](auto mutate) {
    AuditEvent m = e;
    mutate(m);
    return internal::ComputeRecordHash(1, zero, m) != base;
  };
  EXPECT_TRUE(differs([](AuditEvent& m) { m.actor = "ax"; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.role = "d"; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.action = "logout"; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.object = "x"; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.outcome = Outcome::kFailure; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.detail = "{}"; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.node = "n"; }));
  EXPECT_TRUE(differs([](AuditEvent& m) { m.time += std::chrono::seconds(1); }));
  // Sub-second precision is not stored, so it must not enter the hash either.
  EXPECT_FALSE(differs([](AuditEvent& m) { m.time += std::chrono::milliseconds(300); }));
}

// req: CC-FAU
TEST(AuditRecordHash, PersistentValues) {
  EXPECT_EQ(static_cast<int>(Outcome::kSuccess), 1);
  EXPECT_EQ(static_cast<int>(Outcome::kFailure), 2);
  for (const auto& m : AuditMigrations()) {
    EXPECT_GE(m.version, 100);
    EXPECT_LE(m.version, 199);
  }
}

// req: CC-FAU
TEST_P(AuditTest, AppendAndVerify) {
  VerifyReport empty = Verify();
  EXPECT_TRUE(empty.ok) << empty.message;
  EXPECT_EQ(empty.records_checked, 0);

  AppendN(3);
  Checkpoint c = Sign();
  EXPECT_EQ(c.seq, 3);
  EXPECT_EQ(c.key_label, "audit-checkpoint");
  AppendN(2);  // seq 4, 5

  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_TRUE(r.ToStatus());
  EXPECT_EQ(r.records_checked, 5);
  EXPECT_EQ(r.checkpoints_checked, 1);
  EXPECT_EQ(r.head_seq, 5);
  EXPECT_EQ(r.last_checkpoint_seq, 3);
  EXPECT_EQ(r.unsigned_tail, 2);

  // Records read back exactly as written, chained from the genesis value.
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  auto recs = SearchAudit(**tx, AuditQuery{});
  ASSERT_TRUE(recs) << recs.error().ToString();
  ASSERT_EQ(recs->size(), 5u);
  EXPECT_EQ((*recs)[0].prev_hash, Bytes(32, 0));
  for (std::size_t i = 0; i < recs->size(); ++i) {
    const AuditRecord& rec = (*recs)[i];
    const AuditEvent want = Event(static_cast<int>(i) + 1);
    EXPECT_EQ(rec.seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(rec.event.actor, want.actor);
    EXPECT_EQ(rec.event.role, want.role);
    EXPECT_EQ(rec.event.action, want.action);
    EXPECT_EQ(rec.event.object, want.object);
    EXPECT_EQ(rec.event.outcome, want.outcome);
    EXPECT_EQ(rec.event.detail, want.detail);
    EXPECT_EQ(rec.event.time, want.time);
    EXPECT_EQ(rec.event.node, want.node);
    if (i > 0) {
      EXPECT_EQ(rec.prev_hash, (*recs)[i - 1].hash);
    }
  }
  EXPECT_EQ((*recs)[2].hash, c.hash);
  ASSERT_TRUE((*tx)->Rollback());

  // A fully signed log has no unsigned tail.
  Sign();
  r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.checkpoints_checked, 2);
  EXPECT_EQ(r.unsigned_tail, 0);
}

// req: CC-FAU
TEST_P(AuditTest, RejectsInvalidEvents) {
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  AuditEvent e = Event(1);
  e.actor.clear();
  auto st = AppendAudit(**tx, e);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  e = Event(1);
  e.action.clear();
  st = AppendAudit(**tx, e);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  e = Event(1);
  e.detail = "not json";
  st = AppendAudit(**tx, e);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  e = Event(1);
  e.object.assign(kMaxObjectSize + 1, 'x');
  st = AppendAudit(**tx, e);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kTooLarge);
  ASSERT_TRUE((*tx)->Commit());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM audit_records"), 0);
  EXPECT_EQ(QueryInt("SELECT seq FROM audit_head WHERE id = 1"), 0);
}

// req: CC-FAU
TEST_P(AuditTest, ModifiedRecordFailsAtItsSeq) {
  AppendN(5);
  ExecRaw("UPDATE audit_records SET object = ? WHERE seq = 3", {std::string("cert:9999")});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 3);
  EXPECT_THAT(r.message, HasSubstr("modified"));
  ASSERT_FALSE(r.ToStatus());
  EXPECT_EQ(r.ToStatus().error().code(), ErrorCode::kIntegrityFailure);
  EXPECT_EQ(r.records_checked, 2);
}

// req: CC-FAU
TEST_P(AuditTest, ModifiedTimeOrOutcomeFails) {
  AppendN(4);
  ExecRaw("UPDATE audit_records SET time_unix = time_unix + 1 WHERE seq = 2");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 2);
  ExecRaw("UPDATE audit_records SET time_unix = time_unix - 1 WHERE seq = 2");
  EXPECT_TRUE(Verify().ok);
  ExecRaw("UPDATE audit_records SET outcome = 1 WHERE seq = 4");  // failure -> success
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 4);
}

// req: CC-FAU
TEST_P(AuditTest, RecomputedHashStillBreaksTheChain) {
  // An attacker who rewrites a record and its own hash breaks the next record's prev_hash.
  AppendN(5);
  AuditEvent forged = Event(3);
  forged.object = "cert:forged";
  auto prev = QueryInt("SELECT COUNT(*) FROM audit_records WHERE seq = 2");
  ASSERT_EQ(prev, 1);
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  auto row = (*tx)->QueryOne("SELECT hash FROM audit_records WHERE seq = 2");
  ASSERT_TRUE(row && row->has_value());
  const Bytes prev_hash = (**row).Blob(0);
  (void)(*tx)->Rollback();
  const Bytes h = internal::ComputeRecordHash(3, prev_hash, forged);
  ExecRaw("UPDATE audit_records SET object = ?, hash = ? WHERE seq = 3", {forged.object, h});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 4);
  EXPECT_THAT(r.message, HasSubstr("prev_hash"));
}

// req: CC-FAU
TEST_P(AuditTest, DeletedMiddleRecordFails) {
  AppendN(5);
  ExecRaw("DELETE FROM audit_records WHERE seq = 3");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 3);
  EXPECT_THAT(r.message, HasSubstr("missing"));
}

// req: CC-FAU
TEST_P(AuditTest, SwappedRecordsFail) {
  AppendN(5);
  // Swap every column but seq between records 2 and 4.
  const std::string cols =
      "time_unix, actor, role, action, object, outcome, detail, node,"
      " prev_hash, hash";
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  auto rows = (*tx)->Query("SELECT " + cols +
                           " FROM audit_records WHERE seq IN (2, 4)"
                           " ORDER BY seq");
  ASSERT_TRUE(rows && rows->size() == 2u);
  const std::string set =
      "UPDATE audit_records SET time_unix = ?, actor = ?, role = ?, action = ?, object = ?,"
      " outcome = ?, detail = ?, node = ?, prev_hash = ?, hash = ? WHERE seq = ?";
  for (int k = 0; k < 2; ++k) {
    const store::Row& src = (*rows)[1 - k];
    std::vector<store::Value> params;
    for (std::size_t i = 0; i < src.size(); ++i) params.push_back(src.at(i));
    params.emplace_back(std::int64_t{k == 0 ? 2 : 4});
    auto st = (*tx)->Exec(set, params);
    ASSERT_TRUE(st) << st.error().ToString();
  }
  ASSERT_TRUE((*tx)->Commit());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 2);
}

// req: CC-FAU
TEST_P(AuditTest, DeletedTailFailsOnHead) {
  AppendN(5);
  ExecRaw("DELETE FROM audit_records WHERE seq = 5");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 5);
  EXPECT_THAT(r.message, HasSubstr("head"));
}

// req: CC-FAU
TEST_P(AuditTest, TailCutWithHeadRewoundIsCaughtByCheckpoint) {
  AppendN(5);
  Sign();  // covers seq 5
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  auto row = (*tx)->QueryOne("SELECT hash FROM audit_records WHERE seq = 4");
  ASSERT_TRUE(row && row->has_value());
  const Bytes hash4 = (**row).Blob(0);
  ASSERT_TRUE((*tx)->Exec("DELETE FROM audit_records WHERE seq = 5"));
  ASSERT_TRUE((*tx)->Exec("UPDATE audit_head SET seq = 4, hash = ? WHERE id = 1", {hash4}));
  ASSERT_TRUE((*tx)->Commit());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 5);
  EXPECT_THAT(r.message, HasSubstr("checkpoint"));

  // Without the checkpoint the same cut is undetectable by the chain alone; that is why the
  // unsigned tail is reported.
  ExecRaw("DELETE FROM audit_checkpoints");
  r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.unsigned_tail, 4);
}

// req: CC-FAU
TEST_P(AuditTest, RecordBeyondHeadFails) {
  AppendN(2);
  AuditEvent e = Event(3);
  auto tx = db_->Begin();
  ASSERT_TRUE(tx);
  auto row = (*tx)->QueryOne("SELECT hash FROM audit_records WHERE seq = 2");
  ASSERT_TRUE(row && row->has_value());
  const Bytes prev = (**row).Blob(0);
  (void)(*tx)->Rollback();
  ExecRaw(
      "INSERT INTO audit_records (seq, time_unix, actor, role, action, object, outcome,"
      " detail, node, prev_hash, hash) VALUES (3, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
      {ToUnixSeconds(e.time), e.actor, e.role, e.action, e.object, e.detail, e.node, prev,
       internal::ComputeRecordHash(3, prev, e)});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 3);
}

// req: CC-FAU
TEST_P(AuditTest, ForgedCheckpointSignatureFails) {
  AppendN(3);
  Checkpoint c = Sign();
  ASSERT_FALSE(c.signature.empty());
  Bytes bad = c.signature;
  bad[bad.size() - 1] ^= 0x01;
  ExecRaw("UPDATE audit_checkpoints SET signature = ? WHERE seq = ?", {bad, c.seq});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 3);
  EXPECT_THAT(r.message, HasSubstr("signature"));
  EXPECT_EQ(r.ToStatus().error().code(), ErrorCode::kIntegrityFailure);
}

// req: CC-FAU
TEST_P(AuditTest, CheckpointByAnotherKeyFails) {
  AppendN(3);
  Checkpoint c = Sign();
  // A valid signature, but by a key that is not the audit key.
  auto other = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(other);
  auto sig = crypto::Sm2Sign(other->private_key, other->public_key, AsBytes(crypto::kDefaultSm2Id),
                             internal::CheckpointMessage(c.seq, c.hash));
  ASSERT_TRUE(sig);
  const ByteView point = other->public_key.point();
  ExecRaw("UPDATE audit_checkpoints SET signature = ?, public_key = ? WHERE seq = ?",
          {*sig, Bytes(point.begin(), point.end()), c.seq});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 3);
  EXPECT_THAT(r.message, HasSubstr("audit key"));

  // A genuine checkpoint checked against a key that is not the expected audit key fails too.
  ExecRaw("DELETE FROM audit_checkpoints");
  Sign();
  EXPECT_TRUE(Verify().ok);
  auto r2 = VerifyAudit(*db_, other->public_key);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->ok);
}

// req: CC-FAU
TEST_P(AuditTest, CheckpointHashMustMatchRecord) {
  AppendN(3);
  Checkpoint c = Sign();
  // Re-sign a different hash with the real key: the signature verifies, the hash does not.
  Bytes other_hash(32, 0x5a);
  auto sig = session_->SignMessage(key_index_, AsBytes(crypto::kDefaultSm2Id),
                                   internal::CheckpointMessage(c.seq, other_hash));
  ASSERT_TRUE(sig);
  ExecRaw("UPDATE audit_checkpoints SET hash = ?, signature = ? WHERE seq = ?",
          {other_hash, *sig, c.seq});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_failing_seq, 3);
  EXPECT_THAT(r.message, HasSubstr("hash"));
}

// req: CC-FAU
TEST_P(AuditTest, CheckpointIsIdempotentAndCoversEmptyLog) {
  Checkpoint empty = Sign();
  EXPECT_EQ(empty.seq, 0);
  EXPECT_EQ(empty.hash, Bytes(32, 0));
  EXPECT_TRUE(Verify().ok);
  AppendN(2);
  Checkpoint a = Sign();
  clock_.Advance(std::chrono::seconds(60));
  Checkpoint b = Sign();
  EXPECT_EQ(a.seq, 2);
  EXPECT_EQ(b.seq, 2);
  EXPECT_EQ(a.signature, b.signature);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM audit_checkpoints"), 2);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.checkpoints_checked, 2);
  // The signature is a plain SM2 signature with the default ID, checkable by anyone.
  EXPECT_TRUE(crypto::Sm2Verify(audit_key_, AsBytes(crypto::kDefaultSm2Id),
                                internal::CheckpointMessage(a.seq, a.hash), a.signature));
}

// req: CC-FAU
TEST_P(AuditTest, CheckpointNeedsASigningKey) {
  auto enc = session_->GenerateKeyPair("audit-encrypt", device::KeyPurpose::kEncrypt);
  ASSERT_TRUE(enc);
  auto c = SignCheckpoint(*db_, *session_, enc->index, clock_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  auto missing = SignCheckpoint(*db_, *session_, 9999, clock_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM audit_checkpoints"), 0);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest,
                         ::testing::Values(store::Backend::kSqlite, store::Backend::kPostgres),
                         BackendName);

}  // namespace gmpki::audit::testing
