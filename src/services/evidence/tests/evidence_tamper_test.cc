// Tampering with the stored log by plain SQL is found by Audit(), which names the leaf.
#include "services/evidence/tests/evidence_test_fixture.h"

namespace gmpki::evidence::testing {
namespace {

template <class B>
class EvidenceTamperTest : public EvidenceTest<B> {
 protected:
  // 20 leaves, a signed head at 12 and another at 20.
  void SetUp() override {
    EvidenceTest<B>::SetUp();
    if (::testing::Test::HasFatalFailure()) return;
    this->AppendN(12);
    this->Sign();
    this->AppendN(8);
    this->clock_.Advance(std::chrono::seconds(1));
    this->Sign();
    const AuditReport clean = this->Audit();
    ASSERT_TRUE(clean.ok) << clean.message;
    ASSERT_EQ(clean.tree_size, 20u);
    ASSERT_EQ(clean.leaves_checked, 20u);
    ASSERT_EQ(clean.nodes_checked, 10u + 5u + 2u + 1u);
    ASSERT_EQ(clean.tree_heads_checked, 2u);
  }

  // Asserts the audit fails at `index` and the status names it.
  void ExpectFailureAt(std::uint64_t index, const std::string& fragment) {
    const AuditReport r = this->Audit();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_index, index) << r.message;
    EXPECT_NE(r.message.find(fragment), std::string::npos) << r.message;
    const Status st = r.ToStatus();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kIntegrityFailure);
    EXPECT_NE(st.error().message().find("leaf " + std::to_string(index) + ":"), std::string::npos)
        << st.error().message();
  }

  Bytes Entry(int index) {
    return std::get<Bytes>(this->QueryValue(
        "SELECT entry FROM evidence_records WHERE leaf_index = ?", {std::int64_t{index}}));
  }
};
TYPED_TEST_SUITE(EvidenceTamperTest, store::testutil::AllBackends, store::testutil::BackendNames);

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ChangedRecordBytesAreFoundAtTheirIndex) {
  EvidenceRecord r = Record(9);
  r.decision = "invalid";
  this->ExecRaw("UPDATE evidence_records SET entry = ? WHERE leaf_index = 9", {EncodeRecord(r)});
  this->ExpectFailureAt(9, "record was changed");
  // The log refuses to hand out a bundle for it.
  EXPECT_EQ(this->log_->ExportRecordBundle(9).error().code(), ErrorCode::kIntegrityFailure);
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ChangedRecordWithRecomputedLeafHashIsFoundByItsNode) {
  // An attacker who also recomputes the leaf hash is caught by the stored level-1 node over
  // leaves [8, 10), which names the first leaf of that subtree.
  EvidenceRecord r = Record(9);
  r.actor = "someone-else";
  const Bytes entry = EncodeRecord(r);
  const NodeHash leaf = Sm3TreeHasher().HashLeaf(entry);
  this->ExecRaw("UPDATE evidence_records SET entry = ?, leaf_hash = ?, actor = ?"
                " WHERE leaf_index = 9",
                {entry, Bytes(leaf.begin(), leaf.end()), r.actor});
  this->ExpectFailureAt(8, "over leaves [8, 10)");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ARewrittenTreeIsFoundByTheSignedHead) {
  // Rewriting a record, its leaf hash and every node above it leaves only the signed tree
  // heads to tell: the first head whose root no longer matches names the span since the last
  // head that did.
  EvidenceRecord r = Record(14);
  r.decision = "forged";
  const Bytes entry = EncodeRecord(r);
  const NodeHash leaf = Sm3TreeHasher().HashLeaf(entry);
  this->ExecRaw("UPDATE evidence_records SET entry = ?, leaf_hash = ? WHERE leaf_index = 14",
                {entry, Bytes(leaf.begin(), leaf.end())});
  // Recompute every stored node from the (now forged) leaves.
  std::vector<NodeHash> leaves;
  for (int i = 0; i < 20; ++i) {
    leaves.push_back(Sm3TreeHasher().HashLeaf(this->Entry(i)));
  }
  MerkleFrontier f;
  for (const NodeHash& l : leaves) {
    std::vector<MerkleFrontier::Node> done;
    f.Append(Sm3TreeHasher(), l, &done);
    for (const auto& n : done) {
      this->ExecRaw("UPDATE evidence_nodes SET hash = ? WHERE level = ? AND idx = ?",
                    {Bytes(n.hash.begin(), n.hash.end()), std::int64_t{n.level},
                     static_cast<std::int64_t>(n.index)});
    }
  }
  this->ExpectFailureAt(12, "does not match its signed tree head");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, DeletedRecordIsFoundAtItsIndex) {
  this->ExecRaw("DELETE FROM evidence_records WHERE leaf_index = 5");
  this->ExpectFailureAt(5, "missing (deleted)");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ReorderedRecordsAreFound) {
  // Swapping the record bytes of two rows (leaf hashes left in place).
  const Bytes e3 = this->Entry(3), e4 = this->Entry(4);
  this->ExecRaw("UPDATE evidence_records SET entry = ? WHERE leaf_index = 3", {e4});
  this->ExecRaw("UPDATE evidence_records SET entry = ? WHERE leaf_index = 4", {e3});
  this->ExpectFailureAt(3, "record was changed");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ReorderedRowsWithTheirLeafHashesAreFoundByTheNodes) {
  // Swapping whole rows (bytes, leaf hash and columns) of leaves 6 and 7.
  const auto swap_sql =
      "UPDATE evidence_records SET leaf_index = ? WHERE leaf_index = ?";
  this->ExecRaw(swap_sql, {std::int64_t{-1}, std::int64_t{6}});
  this->ExecRaw(swap_sql, {std::int64_t{6}, std::int64_t{7}});
  this->ExecRaw(swap_sql, {std::int64_t{7}, std::int64_t{-1}});
  this->ExpectFailureAt(6, "over leaves [6, 8)");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, TruncatedTailWithRewoundHeadIsFound) {
  this->ExecRaw("DELETE FROM evidence_records WHERE leaf_index >= 17");
  // The nodes completed by leaves 17.. : [16, 18) at level 1 and [16, 20) at level 2.
  this->ExecRaw("DELETE FROM evidence_nodes WHERE (level = 1 AND idx >= 8) OR"
                " (level = 2 AND idx >= 4)");
  this->ExecRaw("UPDATE evidence_head SET tree_size = 17 WHERE id = 1");
  this->ExpectFailureAt(17, "signed tree head covers 20 leaves");
  // And the log refuses to sign a head that does not extend the last one.
  EXPECT_EQ(this->log_->SignTreeHead().error().code(), ErrorCode::kIntegrityFailure);
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, TruncatedTailIsFound) {
  this->ExecRaw("DELETE FROM evidence_records WHERE leaf_index >= 18");
  this->ExpectFailureAt(18, "missing");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, InsertedRecordBeyondTheTreeIsFound) {
  const NodeHash leaf = Sm3TreeHasher().HashLeaf(EncodeRecord(Record(20)));
  this->ExecRaw("INSERT INTO evidence_records (leaf_index, kind, time_ms, actor, object, entry,"
                " leaf_hash) VALUES (20, 1, 0, 'x', 'y', ?, ?)",
                {EncodeRecord(Record(20)), Bytes(leaf.begin(), leaf.end())});
  this->ExpectFailureAt(20, "beyond the tree size");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ChangedSearchColumnIsFound) {
  this->ExecRaw("UPDATE evidence_records SET actor = 'mallory' WHERE leaf_index = 2");
  this->ExpectFailureAt(2, "columns were changed");
}

// req: AS-06, CC-FCO
TYPED_TEST(EvidenceTamperTest, ForgedTreeHeadSignatureIsFound) {
  auto other = crypto::Sm2GenerateKeyPair();
  ASSERT_TRUE(other);
  auto sig = crypto::Sm2Sign(other->private_key, other->public_key, AsBytes("x"), AsBytes("y"));
  ASSERT_TRUE(sig);
  this->ExecRaw("UPDATE evidence_sths SET signature = ? WHERE tree_size = 20", {*sig});
  this->ExpectFailureAt(12, "does not verify under the log key");
}

// req: AS-06, CC-FAU
TYPED_TEST(EvidenceTamperTest, ChangedNodeIsFound) {
  this->ExecRaw("UPDATE evidence_nodes SET hash = ? WHERE level = 2 AND idx = 3",
                {Bytes(32, 0xAB)});
  this->ExpectFailureAt(12, "over leaves [12, 16)");
}

}  // namespace
}  // namespace gmpki::evidence::testing
