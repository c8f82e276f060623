// Behaviour that only one backend has, and URL handling.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "store/store.h"
#include "store/testing/backends.h"

namespace gmpki::store {
namespace {

// req: CC-FDP
TEST(SqliteOnly, ConnectionsUseWalFullSyncAndForeignKeys) {
  auto scratch = testutil::ScratchDatabase::Create(Backend::kSqlite);
  ASSERT_TRUE(scratch.ok());
  Database& db = (*scratch)->db();
  EXPECT_EQ(db.backend(), Backend::kSqlite);
  for (int i = 0; i < 2; ++i) {
    auto tx = i == 0 ? db.Begin() : db.BeginReadOnly();
    ASSERT_TRUE(tx.ok());
    EXPECT_EQ((*(*tx)->QueryOne("PRAGMA journal_mode"))->Text(0), "wal");
    EXPECT_EQ((*(*tx)->QueryOne("PRAGMA synchronous"))->Int(0), 2);  // 2 = FULL
    EXPECT_EQ((*(*tx)->QueryOne("PRAGMA foreign_keys"))->Int(0), 1);
    EXPECT_EQ((*(*tx)->QueryOne("PRAGMA busy_timeout"))->Int(0), 10000);
  }
  // A connection that served a read-only transaction is writable again afterwards.
  auto tx = db.Begin();
  ASSERT_TRUE(tx.ok());
  EXPECT_TRUE((*tx)->Exec("CREATE TABLE t (x INTEGER)").ok());
  EXPECT_TRUE((*tx)->Commit().ok());
}

// req: PF-06
TEST(SqliteOnly, SecondWriteTransactionOnOneThreadFailsAtOnce) {
  auto scratch = testutil::ScratchDatabase::Create(Backend::kSqlite);
  ASSERT_TRUE(scratch.ok());
  Database& db = (*scratch)->db();
  auto first = db.Begin();
  ASSERT_TRUE(first.ok());
  const auto start = std::chrono::steady_clock::now();
  auto second = db.Begin();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(db.BeginReadOnly().ok());  // reads are fine meanwhile
  // Another thread waits for the writer instead, and gets its turn after the commit.
  Status other;
  std::thread t([&] {
    auto tx = db.Begin();
    other = tx.ok() ? (*tx)->Commit() : Status(tx.error());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE((*first)->Commit().ok());  // releases the write lock, though `first` lives on
  t.join();
  EXPECT_TRUE(other.ok()) << other.error().ToString();
}

TEST(SqliteOnly, RealColumnsAreRejected) {
  auto scratch = testutil::ScratchDatabase::Create(Backend::kSqlite);
  ASSERT_TRUE(scratch.ok());
  auto tx = (*scratch)->db().Begin();
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Query("SELECT 1.5");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
}

TEST(OpenDatabaseUrl, SqliteCreatesTheFile) {
  auto scratch = testutil::ScratchDatabase::Create(Backend::kSqlite);
  ASSERT_TRUE(scratch.ok());
  const std::string path = (*scratch)->url().substr(7) + ".new";
  ASSERT_FALSE(std::filesystem::exists(path));
  {
    auto db = OpenDatabase("sqlite:" + path);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    EXPECT_EQ((*db)->backend(), Backend::kSqlite);
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  auto db = OpenDatabase("sqlite://" + path);  // sqlite:///abs/path form
  EXPECT_TRUE(db.ok());
}

TEST(OpenDatabaseUrl, BadUrlsAreRejected) {
  EXPECT_EQ(OpenDatabase("mysql://x").error().code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(OpenDatabase("sqlite:").error().code(), ErrorCode::kConfigInvalid);
  EXPECT_EQ(OpenDatabase("sqlite:/nonexistent-dir/x/y.db").error().code(),
            ErrorCode::kStorageFailure);
}

TEST(OpenDatabaseUrl, UnreachablePgServerIsUnavailable) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto db = OpenDatabase("postgresql://gmpki@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code(), ErrorCode::kUnavailable) << db.error().ToString();
  auto kv = OpenDatabase("postgres:host=127.0.0.1 port=1 dbname=none connect_timeout=2");
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.error().code(), ErrorCode::kUnavailable);
}

TEST(ScratchDatabase, PgWithoutFixtureFailsWithInstructions) {
  const char* saved = std::getenv("GMPKI_TEST_PG_URL_FILE");
  const std::string keep = saved != nullptr ? saved : "";
  unsetenv("GMPKI_TEST_PG_URL_FILE");
  auto r = testutil::ScratchDatabase::Create(Backend::kPostgres);
  if (saved != nullptr) setenv("GMPKI_TEST_PG_URL_FILE", keep.c_str(), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("pg-instance.sh"), std::string::npos);
}

class PostgresOnly : public testutil::BackendTest<testutil::PostgresBackend> {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(db().Migrate({{1, "acct", "CREATE TABLE acct (id INTEGER PRIMARY KEY, "
                                          "balance INTEGER NOT NULL)"}})
                    .ok());
    auto tx = db().Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO acct VALUES (1, 100), (2, 100)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
};

// req: PF-06
TEST_F(PostgresOnly, SerializationFailureIsConflict) {
  // Write skew: each transaction reads both rows and updates a different one. Under
  // SERIALIZABLE one of them must fail with SQLSTATE 40001, reported as kConflict.
  auto a = db().Begin(/*serializable=*/true);
  auto b = db().Begin(/*serializable=*/true);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Query("SELECT SUM(balance) FROM acct").ok());
  ASSERT_TRUE((*b)->Query("SELECT SUM(balance) FROM acct").ok());
  ASSERT_TRUE((*a)->Exec("UPDATE acct SET balance = balance - 150 WHERE id = 1").ok());
  auto wb = (*b)->Exec("UPDATE acct SET balance = balance - 150 WHERE id = 2");
  ASSERT_TRUE((*a)->Commit().ok());
  Status cb = wb.ok() ? (*b)->Commit() : Status(wb.error());
  ASSERT_FALSE(cb.ok());
  EXPECT_EQ(cb.error().code(), ErrorCode::kConflict) << cb.error().ToString();
}

// req: PF-06
TEST_F(PostgresOnly, DeadlockIsConflict) {
  auto a = db().Begin();
  auto b = db().Begin();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Exec("UPDATE acct SET balance = 1 WHERE id = 1").ok());
  ASSERT_TRUE((*b)->Exec("UPDATE acct SET balance = 2 WHERE id = 2").ok());
  Result<std::int64_t> ra(0);
  std::thread t([&] { ra = (*a)->Exec("UPDATE acct SET balance = 1 WHERE id = 2"); });
  auto rb = (*b)->Exec("UPDATE acct SET balance = 2 WHERE id = 1");
  if (rb.ok()) (void)(*b)->Rollback();  // let a finish if it was b that survived
  t.join();
  // Exactly one of the two was chosen as the deadlock victim.
  const bool a_lost = !ra.ok(), b_lost = !rb.ok();
  ASSERT_NE(a_lost, b_lost);
  const Error& e = a_lost ? ra.error() : rb.error();
  EXPECT_EQ(e.code(), ErrorCode::kConflict) << e.ToString();
}

TEST_F(PostgresOnly, ResultTypesMapToPortableValues) {
  auto tx = db().Begin();
  ASSERT_TRUE(tx.ok());
  auto row = (*tx)->QueryOne(
      "SELECT 7::int2, 8::int4, 9::int8, 'v'::varchar(4), true, SUM(balance), NULL::text, "
      "'\\x00ff'::bytea, ''::bytea FROM acct");
  ASSERT_TRUE(row.ok() && row->has_value()) << (row.ok() ? "" : row.error().ToString());
  const Row& r = **row;
  EXPECT_EQ(r.Int(0), 7);
  EXPECT_EQ(r.Int(1), 8);
  EXPECT_EQ(r.Int(2), 9);
  EXPECT_EQ(r.Text(3), "v");
  EXPECT_EQ(r.Int(4), 1);
  EXPECT_EQ(r.Int(5), 200);  // numeric SUM read as an integer
  EXPECT_TRUE(r.IsNull(6));
  EXPECT_EQ(r.Blob(7), (Bytes{0x00, 0xff}));
  EXPECT_TRUE(r.Blob(8).empty());
}

TEST_F(PostgresOnly, DollarQuotedAndEscapeStringsKeepTheirQuestionMarks) {
  auto tx = db().Begin();
  ASSERT_TRUE(tx.ok());
  auto row = (*tx)->QueryOne("SELECT $$a?b$$, E'c\\'?d', ?::int8", {Value(std::int64_t{3})});
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  EXPECT_EQ((*row)->Text(0), "a?b");
  EXPECT_EQ((*row)->Text(1), "c'?d");
  EXPECT_EQ((*row)->Int(2), 3);
}

}  // namespace
}  // namespace gmpki::store
