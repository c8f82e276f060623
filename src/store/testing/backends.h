// Test-only helpers (library gmpki_store_testing) so any component's typed test suite runs on
// both backends against a fresh, empty database per test:
//
//   template <class B> class MyTest : public gmpki::store::testutil::BackendTest<B> {};
//   TYPED_TEST_SUITE(MyTest, gmpki::store::testutil::AllBackends,
//                    gmpki::store::testutil::BackendNames);
//   TYPED_TEST(MyTest, Works) { auto& db = this->db(); ... }
//
// Test names then contain "Sqlite" or "Postgres". PostgreSQL cases need the CTest fixture `pg`
// (tools/pg/pg-instance.sh), which sets GMPKI_TEST_PG_URL_FILE: register the binary with
// gmpki_add_backend_tests() (src/store/CMakeLists.txt), which keeps *Postgres* cases out of
// the plain discovered set and runs them under the fixture. Without the variable a Postgres
// case FAILS with a message saying so; it never silently skips.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/store.h"

namespace gmpki::store::testutil {

// The PostgreSQL URI from the file named by $GMPKI_TEST_PG_URL_FILE; kFailedPrecondition with
// instructions when the variable is unset or the file unreadable.
Result<std::string> PostgresTestUrl();

// A fresh, empty database: a SQLite file in a new temporary directory, or a new schema with a
// random name in the fixture's PostgreSQL database (selected through search_path, so
// unqualified names land in it). Removed, with everything in it, by the destructor.
class ScratchDatabase {
 public:
  static Result<std::unique_ptr<ScratchDatabase>> Create(Backend backend);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  Database& db() { return *db_; }
  // A URL for OpenDatabase() that reaches the same scratch database (other handles, children).
  const std::string& url() const { return url_; }
  // Closes the handle and opens a new one, as a restarted process would.
  Status Reopen();

 private:
  ScratchDatabase() = default;
  Backend backend_ = Backend::kSqlite;
  std::string url_;
  std::string cleanup_;  // SQLite: the temp directory; PostgreSQL: the schema name
  std::string admin_url_;
  std::unique_ptr<Database> db_;
};

struct SqliteBackend {
  static constexpr Backend kBackend = Backend::kSqlite;
  static constexpr const char* kName = "Sqlite";
};
struct PostgresBackend {
  static constexpr Backend kBackend = Backend::kPostgres;
  static constexpr const char* kName = "Postgres";
};
using AllBackends = ::testing::Types<SqliteBackend, PostgresBackend>;

// Name generator for TYPED_TEST_SUITE: "Suite/Sqlite.Case", "Suite/Postgres.Case".
struct BackendNames {
  template <class B>
  static std::string GetName(int) {
    return B::kName;
  }
};

// Fixture: a fresh ScratchDatabase for each test.
template <class B>
class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ScratchDatabase::Create(B::kBackend);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    scratch_ = std::move(s).value();
  }
  void TearDown() override { scratch_.reset(); }
  Database& db() { return scratch_->db(); }
  ScratchDatabase& scratch() { return *scratch_; }

  std::unique_ptr<ScratchDatabase> scratch_;
};

}  // namespace gmpki::store::testutil
