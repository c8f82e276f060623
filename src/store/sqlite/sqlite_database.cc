// SQLite backend: a pool of connections to one file, each used by one thread at a time.
//
// Why this shape: in WAL mode any number of readers proceed alongside one writer, but a
// connection must not be shared across threads mid-transaction, so each Transaction owns a
// connection from the pool. Write transactions start with BEGIN IMMEDIATE so the write lock is
// taken up front: a deferred transaction that reads and then writes can fail with SQLITE_BUSY
// on the upgrade, which no busy timeout cures. Writers of this process also queue on a
// lock, so they are served in turn instead of polling the busy handler; the busy timeout
// still covers other processes opening the same file.
#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include "store/handle_pool.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace gmpki::store::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 10000;
constexpr std::size_t kMaxConnections = 16;
constexpr auto kPoolWait = std::chrono::milliseconds(kBusyTimeoutMs);

Error SqliteError(int rc, sqlite3* db, std::string_view what) {
  std::string msg = fmt::format("sqlite {}: {} (code {})", what,
                                db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return Error(ErrorCode::kAlreadyExists, std::move(msg));
    default:
      break;
  }
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    return Error(ErrorCode::kUnavailable, std::move(msg));
  }
  return Error(ErrorCode::kStorageFailure, std::move(msg));
}

Status ExecPlain(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(rc, db, sql);
    sqlite3_free(err);
    return e;
  }
  return OkStatus();
}

// Connections and the in-process writer queue. Shared by the Database and its live
// Transactions, so a Transaction outliving its Database is still safe.
// Prepared statements of one connection, by SQL text. Parsing and planning a statement costs
// more than running a small one, and the services send the same few hundred statements again
// and again. Used only by the thread that holds the connection.
class StmtCache {
 public:
  ~StmtCache() { Clear(); }
  sqlite3_stmt* Find(std::string_view sql) {
    auto it = stmts_.find(std::string(sql));
    return it == stmts_.end() ? nullptr : it->second;
  }
  void Put(std::string_view sql, sqlite3_stmt* stmt) {
    if (stmts_.size() >= kMaxCachedStatements) Clear();  // generated SQL must not grow it forever
    stmts_.emplace(std::string(sql), stmt);
  }
  void Clear() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    stmts_.clear();
  }

 private:
  static constexpr std::size_t kMaxCachedStatements = 512;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

class Pool {
 public:
  explicit Pool(std::string path)
      : path_(std::move(path)),
        handles_("sqlite", kMaxConnections, kPoolWait, [this] { return Connect(); },
                 [this](sqlite3* db) {
                   DropCache(db);
                   sqlite3_close_v2(db);
                 }) {}

  Result<sqlite3*> Acquire() { return handles_.Acquire(); }
  // The statement cache of a connection (created on first use).
  StmtCache* CacheFor(sqlite3* db) {
    std::lock_guard lock(mu_);
    auto& c = caches_[db];
    if (!c) c = std::make_unique<StmtCache>();
    return c.get();
  }
  // `healthy`: the connection is outside any transaction and may be reused.
  void Release(sqlite3* db, bool healthy) { handles_.Release(db, healthy); }

  // The in-process write lock, held from BEGIN IMMEDIATE to COMMIT/ROLLBACK.
  Status AcquireWriter() {
    std::unique_lock lock(mu_);
    if (writer_held_ && writer_owner_ == std::this_thread::get_id()) {
      // SQLite has one writer per file: a second write transaction on this thread would wait
      // for the first one, which waits for this thread. Fail at once instead of in 10 s.
      return Error(ErrorCode::kFailedPrecondition,
                   "sqlite: this thread already holds a write transaction on this database; "
                   "finish it first, or use BeginReadOnly() for reads");
    }
    if (!writer_cv_.wait_for(lock, kPoolWait, [&] { return !writer_held_; })) {
      return Error(ErrorCode::kUnavailable, "sqlite: write lock busy for 10 s");
    }
    writer_held_ = true;
    writer_owner_ = std::this_thread::get_id();
    return OkStatus();
  }
  void ReleaseWriter() {
    std::lock_guard lock(mu_);
    writer_held_ = false;
    writer_cv_.notify_one();
  }

 private:
  Result<sqlite3*> Connect() {
    sqlite3* db = nullptr;
    // NOMUTEX: a connection is used by one thread at a time (the pool guarantees it).
    int rc = sqlite3_open_v2(path_.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      Error e = SqliteError(rc, db, "open " + path_);
      sqlite3_close_v2(db);
      return e;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    // journal_mode is stored in the file; synchronous and foreign_keys are per connection.
    // synchronous=FULL makes every COMMIT fsync the WAL: an acknowledged commit survives a
    // crash of the process or of the machine.
    Status s = ExecPlain(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA foreign_keys=ON;");
    if (!s) {
      sqlite3_close_v2(db);
      return s.error();
    }
    return db;
  }

  void DropCache(sqlite3* db) {
    std::unique_ptr<StmtCache> c;
    {
      std::lock_guard lock(mu_);
      auto it = caches_.find(db);
      if (it == caches_.end()) return;
      c = std::move(it->second);
      caches_.erase(it);
    }
  }

  const std::string path_;
  std::mutex mu_;  // guards the writer state and the cache map below
  std::unordered_map<sqlite3*, std::unique_ptr<StmtCache>> caches_;
  internal::HandlePool<sqlite3> handles_;  // last: its connections close before caches_ goes
  std::condition_variable writer_cv_;
  bool writer_held_ = false;
  std::thread::id writer_owner_;
};

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

// A statement from the connection's cache: reset and unbound when done, not finalised.
struct StmtReset {
  void operator()(sqlite3_stmt* s) const {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};
using CachedStmt = std::unique_ptr<sqlite3_stmt, StmtReset>;

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(std::shared_ptr<Pool> pool, sqlite3* db, bool writer)
      : pool_(std::move(pool)), db_(db), writer_(writer) {}
  ~SqliteTransaction() override {
    if (open_) (void)Rollback();
    Finish();
  }

  Result<std::int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    GMPKI_ASSIGN_OR_RETURN(CachedStmt stmt, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return Fail(SqliteError(rc, db_, "exec"));
    return static_cast<std::int64_t>(sqlite3_changes64(db_));
  }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    std::vector<Row> rows;
    GMPKI_RETURN_IF_ERROR(Step(sql, params, [&](Row& row) -> Status {
      rows.emplace_back(std::move(row.mutable_values()));
      return OkStatus();
    }, /*reuse=*/false));
    return rows;
  }

  Status QueryEach(std::string_view sql, const std::vector<Value>& params,
                   const std::function<Status(const Row&)>& fn) override {
    return Step(sql, params, [&](Row& row) { return fn(row); }, /*reuse=*/true);
  }

  Status Commit() override {
    if (!open_) return Error(ErrorCode::kFailedPrecondition, "transaction already finished");
    if (failed_) {
      (void)Rollback();
      return Error(ErrorCode::kFailedPrecondition,
                   "transaction aborted by an earlier error; rolled back");
    }
    Status s = ExecPlain(db_, "COMMIT");
    if (!s) {
      (void)Rollback();
      return s;
    }
    open_ = false;
    Finish();  // the connection and the write lock go back now, not at destruction
    return OkStatus();
  }

  Status Rollback() override {
    if (!open_) return Error(ErrorCode::kFailedPrecondition, "transaction already finished");
    open_ = false;
    // Some errors (e.g. SQLITE_FULL) already rolled the transaction back.
    Status s = sqlite3_get_autocommit(db_) != 0 ? OkStatus() : ExecPlain(db_, "ROLLBACK");
    Finish();
    return s;
  }

  // Steps a query, filling `row` per result row. With `reuse` the same Row is refilled (values
  // of the same type assigned in place, keeping string and blob capacity); without it the
  // callback may move the values out. A callback error ends the query and is returned as is
  // (the caller's decision, not a failed statement: the transaction stays usable).
  template <class Fn>
  Status Step(std::string_view sql, const std::vector<Value>& params, Fn&& fn, bool reuse) {
    GMPKI_ASSIGN_OR_RETURN(CachedStmt stmt, Prepare(sql, params));
    sqlite3_stmt* s = stmt.get();
    const int ncol = sqlite3_column_count(s);
    Row row{std::vector<Value>(static_cast<std::size_t>(ncol))};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<Value>& values = row.mutable_values();
      if (!reuse) values.assign(static_cast<std::size_t>(ncol), Value{});
      for (int c = 0; c < ncol; ++c) {
        Value& v = values[static_cast<std::size_t>(c)];
        switch (sqlite3_column_type(s, c)) {
          case SQLITE_INTEGER:
            v = static_cast<std::int64_t>(sqlite3_column_int64(s, c));
            break;
          case SQLITE_TEXT: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
            const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, c));
            if (auto* str = std::get_if<std::string>(&v)) {
              str->assign(p, n);
            } else {
              v = std::string(p, n);
            }
            break;
          }
          case SQLITE_BLOB: {
            // A zero-length blob has a null pointer; it is still an empty blob, not NULL.
            const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, c));
            const int n = sqlite3_column_bytes(s, c);
            if (auto* b = std::get_if<Bytes>(&v)) {
              b->assign(p, p + n);
            } else {
              v = n > 0 ? Bytes(p, p + n) : Bytes();
            }
            break;
          }
          case SQLITE_NULL:
            v = Null{};
            break;
          default:
            return Fail(Error(ErrorCode::kUnsupported,
                              fmt::format("sqlite: column {} is REAL; portable SQL has only "
                                          "INTEGER, TEXT and BLOB",
                                          sqlite3_column_name(s, c))));
        }
      }
      GMPKI_RETURN_IF_ERROR(fn(row));
    }
    if (rc != SQLITE_DONE) return Fail(SqliteError(rc, db_, "query"));
    return OkStatus();
  }

 private:
  Error Fail(Error e) {
    failed_ = true;
    return e;
  }

  Result<CachedStmt> Prepare(std::string_view sql, const std::vector<Value>& params) {
    if (!open_) return Error(ErrorCode::kFailedPrecondition, "transaction already finished");
    if (failed_) {
      return Error(ErrorCode::kFailedPrecondition, "transaction aborted by an earlier error");
    }
    if (cache_ == nullptr) cache_ = pool_->CacheFor(db_);
    CachedStmt stmt(cache_->Find(sql));
    if (!stmt) {
      GMPKI_ASSIGN_OR_RETURN(Stmt fresh, PrepareNew(sql));
      cache_->Put(sql, fresh.get());
      stmt.reset(fresh.release());
    }
    GMPKI_RETURN_IF_ERROR(Bind(stmt.get(), params));
    return stmt;
  }

  // Parses one statement (anything after it but whitespace and comments is refused).
  Result<Stmt> PrepareNew(std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) return Fail(SqliteError(rc, db_, "prepare"));
    if (!stmt) return Fail(Error(ErrorCode::kInvalidArgument, "empty SQL statement"));
    const std::size_t rest = sql.size() - static_cast<std::size_t>(tail - sql.data());
    if (rest > 0) {
      // Only whitespace and comments may follow: Exec and Query take one statement.
      sqlite3_stmt* extra = nullptr;
      rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(rest), &extra, nullptr);
      Stmt guard(extra);
      if (rc != SQLITE_OK || extra != nullptr) {
        return Fail(Error(ErrorCode::kInvalidArgument, "several SQL statements in one call"));
      }
    }
    return stmt;
  }

  Status Bind(sqlite3_stmt* stmt, const std::vector<Value>& params) {
    int rc = SQLITE_OK;
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (static_cast<std::size_t>(expected) != params.size()) {
      return Fail(Error(ErrorCode::kInvalidArgument,
                        fmt::format("statement has {} placeholders but {} parameters given",
                                    expected, params.size())));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      const Value& v = params[i];
      // SQLITE_STATIC: `params` outlives the statement.
      if (std::holds_alternative<Null>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC,
                                 SQLITE_UTF8);
      } else {
        const Bytes& b = std::get<Bytes>(v);
        // bind_blob with a null pointer would bind NULL; an empty blob stays a blob.
        rc = b.empty() ? sqlite3_bind_zeroblob(stmt, idx, 0)
                       : sqlite3_bind_blob64(stmt, idx, b.data(), b.size(), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return Fail(SqliteError(rc, db_, "bind"));
    }
    return OkStatus();
  }

  void Finish() {
    if (db_ == nullptr) return;
    if (writer_) pool_->ReleaseWriter();
    bool healthy = sqlite3_get_autocommit(db_) != 0;
    if (!writer_ && healthy) healthy = ExecPlain(db_, "PRAGMA query_only=OFF").ok();
    pool_->Release(db_, healthy);
    db_ = nullptr;
  }

  std::shared_ptr<Pool> pool_;
  sqlite3* db_;
  StmtCache* cache_ = nullptr;  // the connection's, looked up on first use
  const bool writer_;
  bool open_ = true;
  bool failed_ = false;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}
  Backend backend() const override { return Backend::kSqlite; }

  Result<std::unique_ptr<Transaction>> Begin(bool serializable) override {
    // SQLite transactions are always serializable; the flag changes nothing here.
    GMPKI_RETURN_IF_ERROR(pool_->AcquireWriter());
    auto db = pool_->Acquire();
    if (!db) {
      pool_->ReleaseWriter();
      return db.error();
    }
    Status s = ExecPlain(*db, "BEGIN IMMEDIATE");
    if (!s) {
      pool_->Release(*db, sqlite3_get_autocommit(*db) != 0);
      pool_->ReleaseWriter();
      return s.error();
    }
    return std::unique_ptr<Transaction>(new SqliteTransaction(pool_, *db, /*writer=*/true));
  }

  Result<std::unique_ptr<Transaction>> BeginReadOnly() override {
    GMPKI_ASSIGN_OR_RETURN(sqlite3 * db, pool_->Acquire());
    // A deferred transaction takes its WAL snapshot at the first read and never blocks on, or
    // blocks, the writer. query_only makes a stray write fail instead of taking the lock.
    Status s = ExecPlain(db, "PRAGMA query_only=ON; BEGIN DEFERRED");
    if (!s) {
      pool_->Release(db, false);
      return s.error();
    }
    return std::unique_ptr<Transaction>(new SqliteTransaction(pool_, db, /*writer=*/false));
  }

 private:
  std::shared_ptr<Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path) {
  auto pool = std::make_shared<Pool>(path);
  // Open one connection now: a bad path fails at start, and WAL mode is set before any
  // concurrent use.
  GMPKI_ASSIGN_OR_RETURN(sqlite3 * db, pool->Acquire());
  pool->Release(db, true);
  return std::unique_ptr<Database>(new SqliteDatabase(std::move(pool)));
}

}  // namespace gmpki::store::sqlite
