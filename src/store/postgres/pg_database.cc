// PostgreSQL backend over libpq: a pool of connections, each Transaction owning one.
//
// Parameters go out with PQexecParams: integers as binary int8, byte strings as binary bytea
// (so every byte, zero included, arrives as is), text as untyped text so the server infers the
// column's type. Results come back in text format and are decoded by column type:
//   int2/int4/int8/oid -> int64, bool -> int64 0/1, numeric -> int64 when integral,
//   bytea -> Bytes (hex output), NULL -> Null, anything else -> its text form.
#include "store/postgres/pg_database.h"

#include "store/handle_pool.h"

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "store/sql_text.h"

namespace gmpki::store::postgres {
namespace {

constexpr std::size_t kMaxConnections = 16;
constexpr auto kPoolWait = std::chrono::seconds(10);

// Type OIDs from the server's pg_type catalogue (src/include/catalog/pg_type.dat); they are
// fixed for built-in types.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kNumericOid = 1700;

struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultCloser>;

std::string TrimMessage(const char* m) {
  std::string s = m != nullptr ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// SQLSTATE classes: PostgreSQL documentation, Appendix A "PostgreSQL Error Codes".
Error PgError(PGconn* conn, const PGresult* res, std::string_view what) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string msg = fmt::format(
      "postgres {}: {}{}", what,
      TrimMessage(res != nullptr && *PQresultErrorMessage(res) != '\0' ? PQresultErrorMessage(res)
                                                                      : PQerrorMessage(conn)),
      sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")");
  if (sqlstate == "23505") return Error(ErrorCode::kAlreadyExists, std::move(msg));
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return Error(ErrorCode::kConflict, std::move(msg));
  }
  if (PQstatus(conn) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0 ||
      sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300") {
    return Error(ErrorCode::kUnavailable, std::move(msg));
  }
  return Error(ErrorCode::kStorageFailure, std::move(msg));
}

Status ExecPlain(PGconn* conn, const char* sql) {
  PgResult r(PQexec(conn, sql));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return PgError(conn, r.get(), sql);
  return OkStatus();
}

class Pool {
 public:
  explicit Pool(std::string conninfo)
      : conninfo_(std::move(conninfo)),
        handles_("postgres", kMaxConnections, kPoolWait, [this] { return Connect(); },
                 [](PGconn* c) { PQfinish(c); }) {}

  Result<PGconn*> Acquire() { return handles_.Acquire(); }
  void Release(PGconn* c) {
    handles_.Release(c, PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE);
  }
  // Drops every idle connection, e.g. after the server restarted and they are all dead.
  void DropIdle() { handles_.DropIdle(); }

 private:
  Result<PGconn*> Connect() {
    // connect_timeout first: a value given in the URI itself overrides it.
    const char* keys[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"10", conninfo_.c_str(), nullptr};
    PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (c == nullptr) return Error(ErrorCode::kUnavailable, "postgres: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
      Error e(ErrorCode::kUnavailable, "postgres connect: " + TrimMessage(PQerrorMessage(c)));
      PQfinish(c);
      return e;
    }
    Status s = ExecPlain(c,
                         "SET synchronous_commit = on; SET bytea_output = 'hex'; "
                         "SET client_encoding = 'UTF8'");
    if (!s) {
      PQfinish(c);
      return s.error();
    }
    return c;
  }

  const std::string conninfo_;
  internal::HandlePool<PGconn> handles_;
};

Result<Value> DecodeField(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col) != 0) return Value(Null{});
  const char* text = PQgetvalue(r, row, col);
  const std::size_t len = static_cast<std::size_t>(PQgetlength(r, row, col));
  const std::string_view sv(text, len);
  switch (PQftype(r, col)) {
    case kInt8Oid:
    case kInt4Oid:
    case kInt2Oid:
    case kOidOid: {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text, text + len, v);
      if (ec != std::errc() || end != text + len) {
        return Error(ErrorCode::kStorageFailure, "postgres: bad integer from server");
      }
      return Value(v);
    }
    case kNumericOid: {
      // SUM() of bigints is numeric on PostgreSQL; integral values read as integers, as on
      // SQLite.
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text, text + len, v);
      if (ec == std::errc() && end == text + len) return Value(v);
      return Value(std::string(sv));
    }
    case kBoolOid:
      return Value(std::int64_t{sv == "t" ? 1 : 0});
    case kByteaOid: {
      if (sv.substr(0, 2) != "\\x") {
        return Error(ErrorCode::kStorageFailure, "postgres: bytea not in hex output format");
      }
      auto bytes = HexDecode(sv.substr(2));
      if (!bytes) return Error(ErrorCode::kStorageFailure, "postgres: bad bytea hex from server");
      return Value(std::move(bytes).value());
    }
    default:
      return Value(std::string(sv));
  }
}

class PgTransaction final : public Transaction {
 public:
  PgTransaction(std::shared_ptr<Pool> pool, PGconn* conn) : pool_(std::move(pool)), conn_(conn) {}
  ~PgTransaction() override {
    if (open_) (void)Rollback();
  }

  Result<std::int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    GMPKI_ASSIGN_OR_RETURN(PgResult r, Run(sql, params));
    const char* n = PQcmdTuples(r.get());
    std::int64_t changed = 0;
    if (n != nullptr && *n != '\0') std::from_chars(n, n + std::strlen(n), changed);
    return changed;
  }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Value>& params) override {
    GMPKI_ASSIGN_OR_RETURN(PgResult r, Run(sql, params));
    const int nrows = PQntuples(r.get());
    const int ncols = PQnfields(r.get());
    std::vector<Row> rows;
    rows.reserve(nrows);
    for (int i = 0; i < nrows; ++i) {
      std::vector<Value> values;
      values.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        auto v = DecodeField(r.get(), i, c);
        if (!v) return Fail(v.error());
        values.push_back(std::move(v).value());
      }
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  Status Commit() override {
    if (!open_) return Error(ErrorCode::kFailedPrecondition, "transaction already finished");
    if (failed_) {
      (void)Rollback();
      return Error(ErrorCode::kFailedPrecondition,
                   "transaction aborted by an earlier error; rolled back");
    }
    open_ = false;  // COMMIT ends the transaction whether it succeeds or not
    PgResult r(PQexec(conn_, "COMMIT"));
    Status s;
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      s = PgError(conn_, r.get(), "COMMIT");
    } else if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
      // The server answers ROLLBACK to COMMIT of a transaction it had aborted.
      s = Error(ErrorCode::kConflict, "postgres: COMMIT was turned into ROLLBACK");
    }
    r.reset();
    Finish();
    return s;
  }

  Status Rollback() override {
    if (!open_) return Error(ErrorCode::kFailedPrecondition, "transaction already finished");
    open_ = false;
    Status s = ExecPlain(conn_, "ROLLBACK");
    Finish();
    return s;
  }

 private:
  Error Fail(Error e) {
    failed_ = true;
    return e;
  }

  // Returns the connection to the pool (which drops it if it is broken or mid-transaction).
  void Finish() {
    if (conn_ == nullptr) return;
    pool_->Release(conn_);
    conn_ = nullptr;
  }

  Result<PgResult> Run(std::string_view sql, const std::vector<Value>& params) {
    if (!open_) return Error(ErrorCode::kFailedPrecondition, "transaction already finished");
    if (failed_) {
      return Error(ErrorCode::kFailedPrecondition, "transaction aborted by an earlier error");
    }
    if (sql.find(';') != std::string_view::npos && SplitStatements(sql).size() > 1) {
      return Fail(Error(ErrorCode::kInvalidArgument, "several SQL statements in one call"));
    }
    const RewrittenSql rewritten = RewritePlaceholders(sql);
    if (rewritten.placeholders != params.size()) {
      return Fail(Error(ErrorCode::kInvalidArgument,
                        fmt::format("statement has {} placeholders but {} parameters given",
                                    rewritten.placeholders, params.size())));
    }
    const std::size_t n = params.size();
    std::vector<Oid> types(n, 0);
    std::vector<const char*> values(n, nullptr);
    std::vector<int> lengths(n, 0);
    std::vector<int> formats(n, 0);
    std::vector<std::array<char, 8>> ints(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Value& v = params[i];
      if (const auto* x = std::get_if<std::int64_t>(&v)) {
        // Binary int8 is big-endian (network order).
        const auto u = static_cast<std::uint64_t>(*x);
        for (int b = 0; b < 8; ++b) ints[i][b] = static_cast<char>(u >> (56 - 8 * b));
        types[i] = kInt8Oid;
        values[i] = ints[i].data();
        lengths[i] = 8;
        formats[i] = 1;
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        if (s->find('\0') != std::string::npos) {
          return Fail(Error(ErrorCode::kInvalidArgument, "text parameter holds a NUL byte"));
        }
        values[i] = s->c_str();  // type 0: the server infers it from the context
      } else if (const auto* b = std::get_if<Bytes>(&v)) {
        static const char kEmpty = 0;
        types[i] = kByteaOid;
        values[i] = b->empty() ? &kEmpty : reinterpret_cast<const char*>(b->data());
        lengths[i] = static_cast<int>(b->size());
        formats[i] = 1;
      }
    }
    PgResult r(PQexecParams(conn_, rewritten.text.c_str(), static_cast<int>(n), types.data(),
                            values.data(), lengths.data(), formats.data(), /*resultFormat=*/0));
    const ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return Fail(PgError(conn_, r.get(), "statement"));
    }
    return r;
  }

  std::shared_ptr<Pool> pool_;
  PGconn* conn_;
  bool open_ = true;
  bool failed_ = false;
};

class PgDatabase final : public Database {
 public:
  explicit PgDatabase(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}
  Backend backend() const override { return Backend::kPostgres; }

  Result<std::unique_ptr<Transaction>> Begin(bool serializable) override {
    return Start(serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN");
  }
  Result<std::unique_ptr<Transaction>> BeginReadOnly() override {
    return Start("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

 private:
  Result<std::unique_ptr<Transaction>> Start(const char* begin_sql) {
    // A pooled connection may have died (server restart, idle timeout): nothing has happened
    // in the transaction yet, so it is safe to try once more on a fresh connection.
    for (int attempt = 0;; ++attempt) {
      GMPKI_ASSIGN_OR_RETURN(PGconn * conn, pool_->Acquire());
      Status s = ExecPlain(conn, begin_sql);
      if (s) return std::unique_ptr<Transaction>(new PgTransaction(pool_, conn));
      const bool dead = PQstatus(conn) != CONNECTION_OK;
      pool_->Release(conn);
      if (!dead || attempt > 0) return s.error();
      pool_->DropIdle();
    }
  }

  std::shared_ptr<Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& conninfo) {
  auto pool = std::make_shared<Pool>(conninfo);
  GMPKI_ASSIGN_OR_RETURN(PGconn * conn, pool->Acquire());
  pool->Release(conn);
  return std::unique_ptr<Database>(new PgDatabase(std::move(pool)));
}

}  // namespace gmpki::store::postgres
