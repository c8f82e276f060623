// Backend-independent parts of the storage interface: rows, URL dispatch, migrations.
#include "store/store.h"

#include <ctime>

#include <fmt/format.h>

#include "store/postgres/pg_database.h"
#include "store/sql_text.h"
#include "store/sqlite/sqlite_database.h"

namespace gmpki::store {
namespace {

// pg_advisory_xact_lock key that serialises migrations across nodes ("gmpkimig" in ASCII).
// PERSISTENT: every node of a deployment must use the same key.
constexpr std::int64_t kMigrationLockKey = 0x676d706b696d6967;

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_unix INTEGER NOT NULL)";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Status LockMigrations(Database& db, Transaction& tx) {
  if (db.backend() != Backend::kPostgres) return OkStatus();  // SQLite: BEGIN IMMEDIATE
  auto r = tx.Query("SELECT pg_advisory_xact_lock(?)", {Value(kMigrationLockKey)});
  if (!r) return r.error();
  return OkStatus();
}

Status EnsureMigrationsTable(Database& db) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.Begin());
  GMPKI_RETURN_IF_ERROR(LockMigrations(db, *tx));
  GMPKI_ASSIGN_OR_RETURN(std::string ddl, PortableSql(db.backend(), kCreateMigrationsTable));
  GMPKI_RETURN_IF_ERROR(tx->Exec(ddl));
  return tx->Commit();
}

Status ApplyOne(Database& db, const Migration& m) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.Begin());
  GMPKI_RETURN_IF_ERROR(LockMigrations(db, *tx));
  // Checked under the lock: another node may have applied it since we looked.
  GMPKI_ASSIGN_OR_RETURN(auto done, tx->QueryOne("SELECT name FROM schema_migrations WHERE "
                                                 "version = ?",
                                                 {Value(std::int64_t{m.version})}));
  if (done) {
    if (done->Text(0) != m.name) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("migration {} was applied as '{}' but is now named '{}': released "
                               "migrations must never be edited",
                               m.version, done->Text(0), m.name));
    }
    return tx->Rollback();
  }
  // Each component owns a block of 100 versions (store.h). Within a block versions only grow;
  // a later block may already be applied (a component added after another was released).
  const std::int64_t block = m.version / kMigrationBlock * kMigrationBlock;
  GMPKI_ASSIGN_OR_RETURN(auto max, tx->QueryOne("SELECT MAX(version) FROM schema_migrations "
                                                "WHERE version >= ? AND version < ?",
                                                {Value(block), Value(block + kMigrationBlock)}));
  if (max && !max->IsNull(0) && max->Int(0) > m.version) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("migration {} ('{}') is older than {} of its block but was never "
                             "applied: a component's new migrations must take a higher version",
                             m.version, m.name, max->Int(0)));
  }
  GMPKI_ASSIGN_OR_RETURN(std::string sql, PortableSql(db.backend(), m.sql));
  for (const std::string& stmt : SplitStatements(sql)) {
    auto r = tx->Exec(stmt);
    if (!r) {
      return Error(r.error().code(), fmt::format("migration {} ('{}'): {}", m.version, m.name,
                                                 r.error().message()));
    }
  }
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "INSERT INTO schema_migrations (version, name, applied_unix) VALUES (?, ?, ?)",
      {Value(std::int64_t{m.version}), Value(m.name),
       Value(static_cast<std::int64_t>(std::time(nullptr)))}));
  return tx->Commit();
}

}  // namespace

std::int64_t Row::Int(std::size_t i) const { return std::get<std::int64_t>(values_.at(i)); }
const std::string& Row::Text(std::size_t i) const { return std::get<std::string>(values_.at(i)); }
const Bytes& Row::Blob(std::size_t i) const { return std::get<Bytes>(values_.at(i)); }

Result<std::optional<Row>> Transaction::QueryOne(std::string_view sql,
                                                 const std::vector<Value>& params) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<Row> rows, Query(sql, params));
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

Status Transaction::QueryEach(std::string_view sql, const std::vector<Value>& params,
                              const std::function<Status(const Row&)>& fn) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<Row> rows, Query(sql, params));
  for (const Row& r : rows) GMPKI_RETURN_IF_ERROR(fn(r));
  return OkStatus();
}

Status Database::Migrate(const std::vector<Migration>& migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version <= 0 ||
        (i > 0 && migrations[i].version <= migrations[i - 1].version)) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("migration versions must be positive and strictly increasing "
                               "(at '{}', version {})",
                               migrations[i].name, migrations[i].version));
    }
  }
  GMPKI_RETURN_IF_ERROR(EnsureMigrationsTable(*this));
  for (const Migration& m : migrations) GMPKI_RETURN_IF_ERROR(ApplyOne(*this, m));
  return OkStatus();
}

Result<int> Database::SchemaVersion() {
  GMPKI_ASSIGN_OR_RETURN(auto tx, BeginReadOnly());
  const char* exists_sql =
      backend() == Backend::kPostgres
          ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_name = 'schema_migrations'"
          : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
            "name = 'schema_migrations'";
  GMPKI_ASSIGN_OR_RETURN(auto exists, tx->QueryOne(exists_sql));
  if (!exists || exists->Int(0) == 0) return 0;
  GMPKI_ASSIGN_OR_RETURN(auto max, tx->QueryOne("SELECT MAX(version) FROM schema_migrations"));
  if (!max || max->IsNull(0)) return 0;
  return static_cast<int>(max->Int(0));
}

Result<std::unique_ptr<Database>> OpenDatabase(std::string_view url) {
  if (StartsWith(url, "sqlite:")) {
    std::string_view path = url.substr(7);
    if (StartsWith(path, "//")) path.remove_prefix(2);  // sqlite:///abs/path
    if (path.empty()) return Error(ErrorCode::kConfigInvalid, "sqlite: URL without a path");
    return sqlite::OpenSqliteDatabase(std::string(path));
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return postgres::OpenPostgresDatabase(std::string(url));
  }
  if (StartsWith(url, "postgres:")) {
    return postgres::OpenPostgresDatabase(std::string(url.substr(9)));
  }
  return Error(ErrorCode::kConfigInvalid,
               "database URL must start with sqlite:, postgresql:// or postgres:");
}

}  // namespace gmpki::store
