// The one storage interface. Backends: SQLite (embedded default, WAL) and PostgreSQL 15 (libpq).
// Services write portable SQL with '?' placeholders; a backend rewrites them for its driver.
// Portable types in SQL text: INTEGER (64-bit), TEXT, BLOB, written as `{{blob}}` in migrations
// (BLOB on SQLite, BYTEA on PostgreSQL), and `{{autoid}}` for an auto-increment primary key.
//
// Durability: Commit() returns only after the data is durable (SQLite WAL with
// synchronous=FULL; PostgreSQL synchronous_commit=on). Acknowledged data survives kill -9.
//
// Thread safety: Database is thread-safe (it hands out connections from a pool); a Transaction
// belongs to one thread.
//
// Transactions (both backends behave the same; src/store/README.md has the details):
// - Begin() is a write transaction. On SQLite it is BEGIN IMMEDIATE: it takes the single write
//   lock up front (waiting up to the 10 s busy timeout), so a read-then-write transaction never
//   fails on a lock upgrade. Writers in one process queue in order; readers are not blocked.
//   REQUIRES: a thread holds at most one write transaction per Database (SQLite has a single
//   writer; a second Begin() on the same thread returns kFailedPrecondition there).
// - BeginReadOnly() is for lookups: many run at once, alongside a writer, on both backends.
// - After any failed statement the transaction is aborted (as PostgreSQL does): further
//   Exec/Query return kFailedPrecondition, Commit rolls back and returns kFailedPrecondition.
//   Retry (e.g. a new random serial after kAlreadyExists) in a new transaction.
// - Error codes: kAlreadyExists (unique/primary key), kConflict (PostgreSQL serialization
//   failure or deadlock: retry the whole transaction), kUnavailable (connection lost, server
//   down, lock wait timed out), kInvalidArgument (placeholder count, several statements in one
//   Exec), kStorageFailure (anything else, including foreign-key and NOT NULL violations).
// - Exec and Query take exactly one statement.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"

namespace gmpki::store {

struct Null {
  bool operator==(const Null&) const = default;
};
using Value = std::variant<Null, std::int64_t, std::string, Bytes>;

class Row {
 public:
  explicit Row(std::vector<Value> v) : values_(std::move(v)) {}
  std::size_t size() const { return values_.size(); }
  bool IsNull(std::size_t i) const { return std::holds_alternative<Null>(values_.at(i)); }
  // REQUIRES: the column holds that type (an INTEGER column read as Int, etc.).
  std::int64_t Int(std::size_t i) const;
  const std::string& Text(std::size_t i) const;
  const Bytes& Blob(std::size_t i) const;
  const Value& at(std::size_t i) const { return values_.at(i); }
  // For backends filling a Row in place (QueryEach reuses one Row and its string capacity).
  std::vector<Value>& mutable_values() { return values_; }

 private:
  std::vector<Value> values_;
};

class Transaction {
 public:
  virtual ~Transaction() = default;  // rolls back if neither Commit nor Rollback was called
  // Runs a statement. Returns the number of rows changed. kAlreadyExists on a unique or
  // primary-key violation (so callers can retry a random serial), kStorageFailure otherwise.
  virtual Result<std::int64_t> Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;
  // Streams the result: `fn` sees each row in turn (the Row is reused: valid only during the
  // call; copy what must outlive it) and stops the query early by returning an error, which
  // QueryEach then returns. For large results (CRLs of millions of entries, status loads),
  // where materialising every row as Query does costs more than the work on it. The default
  // runs Query; SQLite steps its statement directly and allocates nothing per row.
  virtual Status QueryEach(std::string_view sql, const std::vector<Value>& params,
                           const std::function<Status(const Row&)>& fn);
  // Convenience: the first row or std::nullopt.
  Result<std::optional<Row>> QueryOne(std::string_view sql, const std::vector<Value>& params = {});
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
};

enum class Backend { kSqlite, kPostgres };

// A versioned schema change. Versions are global across the project and each component owns
// a block of kMigrationBlock versions (core 0-99, audit 100-199, CA 200-299, RA 300-399, CMP
// 400-499, batch enrolment 500-599, KM 600-699, verification (OCSP) 700-799, business-to-public
// feed 800-899, evidence log 900-999, timestamps 1000-1099). Within a block a new migration always takes a higher
// version than the block's released ones; a block's new migration is still applied to a
// database where later blocks are applied already.
// PERSISTENT: a released migration is never edited, only followed by a new one.
inline constexpr int kMigrationBlock = 100;
struct Migration {
  int version;
  std::string name;
  std::string sql;  // may hold several statements separated by ';'
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Backend backend() const = 0;
  // Begins a transaction. On PostgreSQL the isolation level is SERIALIZABLE when `serializable`.
  virtual Result<std::unique_ptr<Transaction>> Begin(bool serializable = false) = 0;
  // Begins a read-only transaction that sees one consistent snapshot and never waits for a
  // writer (SQLite WAL deferred transaction; PostgreSQL BEGIN READ ONLY, REPEATABLE READ).
  // Writes in it fail. The default, for other implementations, is Begin().
  virtual Result<std::unique_ptr<Transaction>> BeginReadOnly() { return Begin(); }
  // Applies the migrations not applied yet, in version order, each in its own transaction,
  // recording them in the table schema_migrations(version, name, applied_unix). Safe to call
  // concurrently from several nodes (PostgreSQL takes an advisory lock).
  Status Migrate(const std::vector<Migration>& migrations);
  // Highest applied migration version, 0 if none.
  Result<int> SchemaVersion();
};

// Rewrites a migration's portable SQL for `backend`: `{{blob}}` -> BLOB / BYTEA, `{{autoid}}` ->
// "INTEGER PRIMARY KEY AUTOINCREMENT" / "BIGSERIAL PRIMARY KEY", and on PostgreSQL the word
// INTEGER -> BIGINT (portable INTEGER is 64-bit). Text in quotes and comments is left alone.
// kInvalidArgument on an unknown `{{...}}`.
Result<std::string> PortableSql(Backend backend, std::string_view sql);

// The VALUES list of a multi-row INSERT: `rows` groups of `columns` placeholders,
// "(?,?),(?,?)" for (2, 2). One statement for many rows saves a round trip per row.
std::string ValuesPlaceholders(std::size_t rows, std::size_t columns);

// "sqlite:/path/to/file.db" (the file is created if absent) or
// "postgresql://user@host:port/db" (any libpq connection URI or
// "postgres:" + keyword/value string).
Result<std::unique_ptr<Database>> OpenDatabase(std::string_view url);

}  // namespace gmpki::store
