// Schema and the append path of the audit chain (CC-FAU).
#include "audit/audit.h"

#include <nlohmann/json.hpp>

#include "audit/chain.h"

namespace gmpki::audit {
namespace {

Error AuditError(std::string_view what, const Error& cause) {
  return Error(ErrorCode::kAuditFailure, std::string(what) + ": " + cause.ToString());
}

// The failure record of RunAudited: the caller's detail with the error slug added.
std::string FailureDetail(const std::string& detail, const Error& error) {
  nlohmann::json j = nlohmann::json::object();
  if (!detail.empty()) {
    nlohmann::json parsed = nlohmann::json::parse(detail, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      j = std::move(parsed);
    } else if (!parsed.is_discarded()) {
      j["detail"] = std::move(parsed);
    }
  }
  j["error"] = std::string(error.info().slug);
  // Messages name fields and objects, never personal numbers or secrets (CONVENTIONS), so the
  // reason is kept for the reviewer.
  j["message"] = error.message();
  return j.dump();
}

}  // namespace

std::vector<store::Migration> AuditMigrations() {
  // PERSISTENT: never edit a released migration; add version 101, 102, ... instead.
  // The head row starts with hash NULL, meaning the genesis value (32 zero bytes): a bytea
  // literal is not portable between SQLite and PostgreSQL.
  return {
      {100, "audit_log",
       "CREATE TABLE audit_records ("
       " seq INTEGER PRIMARY KEY,"
       " time_unix INTEGER NOT NULL,"
       " actor TEXT NOT NULL,"
       " role TEXT NOT NULL,"
       " action TEXT NOT NULL,"
       " object TEXT NOT NULL,"
       " outcome INTEGER NOT NULL,"
       " detail TEXT NOT NULL,"
       " node TEXT NOT NULL,"
       " prev_hash {{blob}} NOT NULL,"
       " hash {{blob}} NOT NULL);"
       "CREATE INDEX audit_records_actor ON audit_records (actor, seq);"
       "CREATE INDEX audit_records_action ON audit_records (action, seq);"
       "CREATE INDEX audit_records_time ON audit_records (time_unix);"
       "CREATE TABLE audit_head ("
       " id INTEGER PRIMARY KEY CHECK (id = 1),"
       " seq INTEGER NOT NULL,"
       " hash {{blob}});"
       "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);"
       "CREATE TABLE audit_checkpoints ("
       " seq INTEGER PRIMARY KEY,"
       " hash {{blob}} NOT NULL,"
       " signature {{blob}} NOT NULL,"
       " key_label TEXT NOT NULL,"
       " public_key {{blob}} NOT NULL,"
       " time_unix INTEGER NOT NULL)"},
  };
}

Status AppendAudit(store::Transaction& tx, const AuditEvent& e) {
  GMPKI_RETURN_IF_ERROR(internal::ValidateEvent(e));

  // Take the head first: on PostgreSQL the UPDATE holds the row lock until the caller's
  // transaction ends, so no two appends can read the same head.
  auto bumped = tx.Exec("UPDATE audit_head SET seq = seq + 1 WHERE id = 1");
  if (!bumped) return AuditError("cannot lock the audit head", bumped.error());
  if (*bumped != 1) {
    return Error(ErrorCode::kAuditFailure, "the audit head row is missing");
  }
  auto head = tx.QueryOne("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (!head) return AuditError("cannot read the audit head", head.error());
  if (!head->has_value()) return Error(ErrorCode::kAuditFailure, "the audit head row is missing");
  const store::Row& row = **head;
  if (!std::holds_alternative<std::int64_t>(row.at(0))) {
    return Error(ErrorCode::kAuditFailure, "the audit head row is damaged");
  }
  const std::int64_t seq = row.Int(0);
  Bytes prev_hash(internal::kHashSize, 0);
  if (seq > 1) {
    if (!std::holds_alternative<Bytes>(row.at(1)) || row.Blob(1).size() != internal::kHashSize) {
      return Error(ErrorCode::kAuditFailure, "the audit head row is damaged");
    }
    prev_hash = row.Blob(1);
  }

  Bytes hash = internal::ComputeRecordHash(seq, prev_hash, e);
  auto inserted = tx.Exec(
      "INSERT INTO audit_records (seq, time_unix, actor, role, action, object, outcome, detail,"
      " node, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {seq, ToUnixSeconds(e.time), e.actor, e.role, e.action, e.object,
       static_cast<std::int64_t>(e.outcome), e.detail, e.node, prev_hash, hash});
  if (!inserted) return AuditError("cannot write the audit record", inserted.error());
  auto updated = tx.Exec("UPDATE audit_head SET hash = ? WHERE id = 1", {hash});
  if (!updated) return AuditError("cannot update the audit head", updated.error());
  return OkStatus();
}

Status RecordRefusal(store::Database& db, AuditEvent e, const Error& why) {
  e.outcome = Outcome::kFailure;
  std::string original = e.detail;
  e.detail = FailureDetail(original, why);
  if (e.detail.size() > kMaxDetailSize) e.detail = FailureDetail("", why);
  auto tx = db.Begin();
  if (!tx) return AuditError("cannot record the failed operation", tx.error());
  Status appended = AppendAudit(**tx, e);
  if (appended) appended = (*tx)->Commit();
  if (!appended) {
    (void)(*tx)->Rollback();
    return AuditError("cannot record the failed operation", appended.error());
  }
  return OkStatus();
}

Status RunAudited(store::Database& db, const AuditEvent& e,
                  const std::function<Status(store::Transaction&)>& op) {
  GMPKI_RETURN_IF_ERROR(internal::ValidateEvent(e));
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db.Begin());
  Status result = op(*tx);
  if (!result) {
    (void)tx->Rollback();
    // The refused or failed attempt is itself an auditable event.
    GMPKI_RETURN_IF_ERROR(RecordRefusal(db, e, result.error()));
    return result;
  }
  AuditEvent done = e;
  done.outcome = Outcome::kSuccess;
  Status appended = AppendAudit(*tx, done);
  if (!appended) {
    // CC-FAU: no audit record, no operation.
    (void)tx->Rollback();
    return appended.error().code() == ErrorCode::kAuditFailure
               ? appended
               : Status(AuditError("cannot write the audit record", appended.error()));
  }
  Status committed = tx->Commit();
  // A failed commit leaves neither the operation nor its record.
  return committed;
}

}  // namespace gmpki::audit
