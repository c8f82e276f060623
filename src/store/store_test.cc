// The typed storage suite: every case runs on SQLite and on PostgreSQL.
#include <gtest/gtest.h>

#include <random>

#include "store/store.h"
#include "store/testing/backends.h"

namespace gmpki::store {
namespace {

using testutil::AllBackends;
using testutil::BackendNames;

const std::vector<Migration> kItems = {
    {1, "items",
     "CREATE TABLE items (id {{autoid}}, n INTEGER, s TEXT, b {{blob}});"
     "CREATE UNIQUE INDEX items_s ON items (s)"},
};

template <class B>
class StoreTest : public testutil::BackendTest<B> {
 protected:
  void SetUp() override {
    testutil::BackendTest<B>::SetUp();
    if (this->HasFatalFailure()) return;
    ASSERT_TRUE(this->db().Migrate(kItems).ok());
  }

  std::unique_ptr<Transaction> Tx() {
    auto tx = this->db().Begin();
    EXPECT_TRUE(tx.ok()) << tx.error().ToString();
    return tx.ok() ? std::move(tx).value() : nullptr;
  }

  std::int64_t Count(std::string_view where = "1 = 1") {
    auto tx = this->db().BeginReadOnly();
    EXPECT_TRUE(tx.ok());
    auto row = (*tx)->QueryOne("SELECT COUNT(*) FROM items WHERE " + std::string(where));
    EXPECT_TRUE(row.ok() && row->has_value()) << (row.ok() ? "" : row.error().ToString());
    return row.ok() && row->has_value() ? (*row)->Int(0) : -1;
  }
};
TYPED_TEST_SUITE(StoreTest, AllBackends, BackendNames);

Bytes RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// req: CC-FDP
TYPED_TEST(StoreTest, CrudWithEveryValueType) {
  const Bytes with_zeros = {0x00, 0x01, 0x00, 0xff, 0x00, 0x5c, 0x78, 0x00};
  const std::string text = "O'Brien \"quoted\" \\x00 证书 ?";
  const std::int64_t big = INT64_MAX, small = INT64_MIN;
  {
    auto tx = this->Tx();
    auto n = tx->Exec("INSERT INTO items (n, s, b) VALUES (?, ?, ?)",
                      {Value(big), Value(text), Value(with_zeros)});
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    EXPECT_EQ(*n, 1);
    ASSERT_TRUE(tx->Exec("INSERT INTO items (n, s, b) VALUES (?, ?, ?)",
                         {Value(small), Value(std::string()), Value(Bytes())})
                    .ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto tx = this->Tx();
  auto rows = tx->Query("SELECT id, n, s, b FROM items ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  const Row& r0 = (*rows)[0];
  EXPECT_GT(r0.Int(0), 0);
  EXPECT_EQ(r0.Int(1), big);
  EXPECT_EQ(r0.Text(2), text);
  EXPECT_EQ(r0.Blob(3), with_zeros);
  const Row& r1 = (*rows)[1];
  EXPECT_GT(r1.Int(0), r0.Int(0));  // autoid increases
  EXPECT_EQ(r1.Int(1), small);
  // Empty text and empty blob are values, not NULL.
  ASSERT_FALSE(r1.IsNull(2));
  EXPECT_EQ(r1.Text(2), "");
  ASSERT_FALSE(r1.IsNull(3));
  EXPECT_TRUE(r1.Blob(3).empty());

  auto updated = tx->Exec("UPDATE items SET n = n - 1 WHERE n > ?", {Value(std::int64_t{0})});
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  EXPECT_EQ(*updated, 1);
  auto one = tx->QueryOne("SELECT n FROM items WHERE b = ?", {Value(with_zeros)});
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->Int(0), big - 1);
  auto none = tx->QueryOne("SELECT n FROM items WHERE s = ?", {Value(std::string("absent"))});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto deleted = tx->Exec("DELETE FROM items WHERE s = ?", {Value(std::string())});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(this->Count(), 1);
}

// req: CC-FDP
TYPED_TEST(StoreTest, LargeBlobRoundTripsExactly) {
  Bytes blob = RandomBytes(1 << 20, 7);
  for (std::size_t i = 0; i < blob.size(); i += 97) blob[i] = 0;
  auto tx = this->Tx();
  ASSERT_TRUE(tx->Exec("INSERT INTO items (s, b) VALUES ('big', ?)", {Value(blob)}).ok());
  ASSERT_TRUE(tx->Commit().ok());
  auto rtx = this->db().BeginReadOnly();
  ASSERT_TRUE(rtx.ok());
  auto row = (*rtx)->QueryOne("SELECT b FROM items WHERE s = 'big'");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_TRUE((*row)->Blob(0) == blob);
}

// QueryEach streams what Query returns, row by row and in order, with every value type and NULLs
// changing type between rows (the reused Row must not keep a stale value), and a callback
// error ends the query without aborting the transaction.
// req: CC-FDP
TYPED_TEST(StoreTest, QueryEachStreamsRowsAndStopsOnCallbackError) {
  auto tx = this->Tx();
  for (int i = 0; i < 50; ++i) {
    std::vector<Value> v{Value(std::int64_t{i}),
                         i % 3 == 0 ? Value(Null{}) : Value("text-" + std::string(i, 'x')),
                         i % 4 == 0 ? Value(Null{}) : Value(RandomBytes(static_cast<std::size_t>(i), i))};
    ASSERT_TRUE(tx->Exec("INSERT INTO items (n, s, b) VALUES (?, ?, ?)", v).ok());
  }
  ASSERT_TRUE(tx->Commit().ok());
  auto rtx = this->db().BeginReadOnly();
  ASSERT_TRUE(rtx.ok());
  const std::string sql = "SELECT n, s, b FROM items WHERE n >= ? ORDER BY n";
  auto all = (*rtx)->Query(sql, {Value(std::int64_t{0})});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 50u);
  std::size_t seen = 0;
  auto st = (*rtx)->QueryEach(sql, {Value(std::int64_t{0})}, [&](const Row& r) -> Status {
    const Row& want = (*all)[seen++];
    for (std::size_t c = 0; c < 3; ++c) EXPECT_TRUE(r.at(c) == want.at(c)) << "row " << seen;
    return OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(seen, 50u);
  seen = 0;
  st = (*rtx)->QueryEach(sql, {Value(std::int64_t{0})}, [&](const Row&) -> Status {
    return ++seen == 7 ? Status(Error(ErrorCode::kTooLarge, "enough")) : OkStatus();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kTooLarge);
  EXPECT_EQ(seen, 7u);
  auto again = (*rtx)->QueryOne("SELECT COUNT(*) FROM items");
  ASSERT_TRUE(again.ok()) << "the transaction stays usable: " << again.error().ToString();
  EXPECT_EQ((*again)->Int(0), 50);
}

TYPED_TEST(StoreTest, NullsRoundTrip) {
  auto tx = this->Tx();
  ASSERT_TRUE(tx->Exec("INSERT INTO items (n, s, b) VALUES (?, ?, ?)",
                       {Value(Null{}), Value(Null{}), Value(Null{})})
                  .ok());
  auto row = tx->QueryOne("SELECT n, s, b FROM items WHERE n IS NULL AND s IS NULL");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_TRUE((*row)->IsNull(0));
  EXPECT_TRUE((*row)->IsNull(1));
  EXPECT_TRUE((*row)->IsNull(2));
  EXPECT_EQ((*row)->at(0), Value(Null{}));
  // NULL = NULL is not true in SQL: a NULL parameter matches nothing.
  auto none = tx->Query("SELECT id FROM items WHERE n = ?", {Value(Null{})});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto max = tx->QueryOne("SELECT MAX(n) FROM items");
  ASSERT_TRUE(max.ok() && max->has_value());
  EXPECT_TRUE((*max)->IsNull(0));
}

// req: CC-FDP
TYPED_TEST(StoreTest, DestructorAndRollbackDiscardWork) {
  {
    auto tx = this->Tx();
    ASSERT_TRUE(tx->Exec("INSERT INTO items (s) VALUES ('dropped')").ok());
  }  // neither Commit nor Rollback: rolled back
  {
    auto tx = this->Tx();
    ASSERT_TRUE(tx->Exec("INSERT INTO items (s) VALUES ('rolled back')").ok());
    ASSERT_TRUE(tx->Rollback().ok());
    EXPECT_EQ(tx->Commit().error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(tx->Exec("SELECT 1").error().code(), ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(this->Count(), 0);
}

// req: CC-FDP
TYPED_TEST(StoreTest, CommittedDataSurvivesReopen) {
  const Bytes blob = RandomBytes(4096, 3);
  {
    auto tx = this->Tx();
    ASSERT_TRUE(
        tx->Exec("INSERT INTO items (n, s, b) VALUES (42, 'kept', ?)", {Value(blob)}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  ASSERT_TRUE(this->scratch().Reopen().ok());
  auto tx = this->Tx();
  auto row = tx->QueryOne("SELECT n, b FROM items WHERE s = ?", {Value(std::string("kept"))});
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->Int(0), 42);
  EXPECT_EQ((*row)->Blob(1), blob);
  auto version = this->db().SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 1);
}

// req: CC-FDP
TYPED_TEST(StoreTest, UniqueViolationIsAlreadyExistsAndAbortsTransaction) {
  {
    auto tx = this->Tx();
    ASSERT_TRUE(tx->Exec("INSERT INTO items (id, s) VALUES (1, 'first')").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto tx = this->Tx();
  ASSERT_TRUE(tx->Exec("INSERT INTO items (id, s) VALUES (2, 'second')").ok());
  auto dup = tx->Exec("INSERT INTO items (id, s) VALUES (3, 'first')");  // unique index
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists) << dup.error().ToString();
  // The transaction is aborted: nothing more runs and its earlier insert is not committed.
  EXPECT_EQ(tx->Exec("INSERT INTO items (id, s) VALUES (4, 'fourth')").error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(tx->Commit().error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(this->Count(), 1);
  tx.reset();  // one write transaction at a time per thread (SQLite has a single writer)

  auto tx2 = this->Tx();
  auto pk = tx2->Exec("INSERT INTO items (id, s) VALUES (1, 'other')");  // primary key
  ASSERT_FALSE(pk.ok());
  EXPECT_EQ(pk.error().code(), ErrorCode::kAlreadyExists) << pk.error().ToString();
}

// req: CC-FDP
TYPED_TEST(StoreTest, ForeignKeysAreEnforced) {
  ASSERT_TRUE(this->db()
                  .Migrate({kItems[0], {2, "children",
                                        "CREATE TABLE children (id INTEGER PRIMARY KEY, "
                                        "item INTEGER NOT NULL REFERENCES items (id))"}})
                  .ok());
  auto tx = this->Tx();
  auto r = tx->Exec("INSERT INTO children (id, item) VALUES (1, 999)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kStorageFailure) << r.error().ToString();
}

TYPED_TEST(StoreTest, QuestionMarkInLiteralsIsNotAPlaceholder) {
  auto tx = this->Tx();
  auto r = tx->Exec("INSERT INTO items (s, n) VALUES ('why? it''s ?', ?) -- trailing ? comment",
                    {Value(std::int64_t{5})});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto row = tx->QueryOne("SELECT s, n, '?' FROM items WHERE s = 'why? it''s ?' AND n = ?",
                          {Value(std::int64_t{5})});
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->Text(0), "why? it's ?");
  EXPECT_EQ((*row)->Text(2), "?");
}

TYPED_TEST(StoreTest, BadCallsAreInvalidArgument) {
  {
    auto tx = this->Tx();
    auto r = tx->Exec("INSERT INTO items (n, s) VALUES (?, ?)", {Value(std::int64_t{1})});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  {
    auto tx = this->Tx();
    auto r = tx->Exec("INSERT INTO items (n) VALUES (1); INSERT INTO items (n) VALUES (2)");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  {
    auto tx = this->Tx();
    auto r = tx->Exec("INSERT INTO no_such_table (n) VALUES (1)");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kStorageFailure);
  }
  EXPECT_EQ(this->Count(), 0);
}

TYPED_TEST(StoreTest, ReadOnlyTransactionRejectsWrites) {
  auto tx = this->db().BeginReadOnly();
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Exec("INSERT INTO items (n) VALUES (1)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(this->Count(), 0);
}

// req: CC-FDP
TYPED_TEST(StoreTest, MigrationsAreVersionedAndIdempotent) {
  auto& db = this->db();
  std::vector<Migration> ms = kItems;
  ms.push_back({2, "seed", "INSERT INTO items (n, s) VALUES (1, 'seed; with ''semicolon''');"
                           "INSERT INTO items (n, s) VALUES (2, 'two')"});
  ASSERT_TRUE(db.Migrate(ms).ok());
  ASSERT_TRUE(db.Migrate(ms).ok());  // nothing new: no second seed
  EXPECT_EQ(*db.SchemaVersion(), 2);
  EXPECT_EQ(this->Count(), 2);
  EXPECT_EQ(this->Count("s = 'seed; with ''semicolon'''"), 1);

  // A failing migration leaves no trace: its earlier statements roll back with it.
  auto bad = ms;
  bad.push_back({3, "broken",
                 "CREATE TABLE t3 (x INTEGER); INSERT INTO items (n) VALUES (3); "
                 "INSERT INTO missing_table VALUES (1)"});
  ASSERT_FALSE(db.Migrate(bad).ok());
  EXPECT_EQ(*db.SchemaVersion(), 2);
  EXPECT_EQ(this->Count(), 2);
  {
    auto tx = this->Tx();
    EXPECT_FALSE(tx->Query("SELECT x FROM t3").ok());
  }

  ms.push_back({5, "t5", "CREATE TABLE t5 (x INTEGER NOT NULL, y {{blob}})"});
  ASSERT_TRUE(db.Migrate(ms).ok());
  EXPECT_EQ(*db.SchemaVersion(), 5);
  {
    auto tx = this->Tx();
    // Portable INTEGER holds 64 bits on both backends.
    ASSERT_TRUE(tx->Exec("INSERT INTO t5 (x, y) VALUES (?, ?)",
                         {Value(std::int64_t{1} << 40), Value(Bytes{0})})
                    .ok());
    auto rows = tx->Query("SELECT version, name, applied_unix FROM schema_migrations "
                          "ORDER BY version");
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ((*rows)[0].Int(0), 1);
    EXPECT_EQ((*rows)[1].Text(1), "seed");
    EXPECT_EQ((*rows)[2].Int(0), 5);
    EXPECT_GT((*rows)[2].Int(2), 1700000000);
    ASSERT_TRUE(tx->Commit().ok());
  }

  // Released migrations are never edited or slotted in below a later one of their block.
  auto renamed = ms;
  renamed[1].name = "seed-v2";
  EXPECT_EQ(db.Migrate(renamed).error().code(), ErrorCode::kFailedPrecondition);
  auto late = ms;
  late.insert(late.begin() + 2, Migration{4, "late", "CREATE TABLE t4 (x INTEGER)"});
  EXPECT_EQ(db.Migrate(late).error().code(), ErrorCode::kFailedPrecondition);
  // Another component's block: its new migration applies although a later block exists.
  ASSERT_TRUE(db.Migrate({{250, "other-block", "CREATE TABLE t250 (x INTEGER)"}}).ok());
  ASSERT_TRUE(db.Migrate({{150, "earlier-block", "CREATE TABLE t150 (x INTEGER)"}}).ok());
  EXPECT_EQ(db.Migrate({{120, "late-in-block", "CREATE TABLE t120 (x INTEGER)"}, {150, "earlier-block", ""}})
                .error()
                .code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(*db.SchemaVersion(), 250);
  EXPECT_EQ(db.Migrate({{2, "a", ""}, {2, "b", ""}}).error().code(),
            ErrorCode::kInvalidArgument);
  // Already applied: its SQL is not looked at again.
  EXPECT_TRUE(db.Migrate({{1, "items", "CREATE TABLE x (y {{nope}})"}}).ok());
}

TYPED_TEST(StoreTest, FreshDatabaseHasSchemaVersionZero) {
  auto fresh = testutil::ScratchDatabase::Create(TypeParam::kBackend);
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  auto v = (*fresh)->db().SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_EQ(*v, 0);
  auto bad = (*fresh)->db().Migrate({{1, "typo", "CREATE TABLE x (y {{nope}})"}});
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*(*fresh)->db().SchemaVersion(), 0);
}

}  // namespace
}  // namespace gmpki::store
