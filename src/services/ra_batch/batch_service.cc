#include "services/core/audit_event.h"
#include "services/ra_batch/batch_service.h"

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "crypto/random.h"
#include "services/ra_batch/batch_internal.h"

namespace gmpki::ra_batch {
namespace {

using internal::ErrorSlug;
using internal::LoadBatch;
using services::Actor;
using services::Permission;

constexpr std::size_t kMaxLabelLength = 200;
constexpr std::size_t kMaxReasonLength = 500;

const char* const kStateNames[] = {"open", "closed", "approved", "processing", "done", "rejected"};
const char* const kStatusNames[] = {"pending", "issued", "failed", "duplicate"};

audit::AuditEvent Event(const Actor& actor, std::string action, const std::string& batch_id,
                        const Clock& clock, const std::string& node) {
  return services::ActorEvent(actor, std::move(action), "batch:" + batch_id, node, clock.Now());
}

nlohmann::json CountsJson(const BatchCounts& c) {
  return {{"total", c.total},
          {"pending", c.pending},
          {"issued", c.issued},
          {"failed", c.failed},
          {"duplicate", c.duplicate}};
}

// Records a refused operation (CC-FAU: refusals are audited too) and returns its error.
Error Refused(store::Database& db, audit::AuditEvent e, Error err) {
  Status st = audit::RunAudited(db, e, [&](store::Transaction&) -> Status { return err; });
  if (!st.ok() && st.error().code() == ErrorCode::kAuditFailure) return st.error();
  return err;
}

Status RequireSubmitter(const Actor& actor, const BatchInfo& b) {
  if (actor.name != b.submitted_by) {
    return Error(ErrorCode::kPermissionDenied,
                 "only the submitter '" + b.submitted_by + "' may add to or close batch " + b.id);
  }
  return OkStatus();
}

Status RequireState(const BatchInfo& b, BatchState want, const std::string& what) {
  if (b.state != want) {
    return Error(ErrorCode::kConflict, "batch " + b.id + " is " +
                                           std::string(BatchStateName(b.state)) + "; " + what +
                                           " needs it " + std::string(BatchStateName(want)));
  }
  return OkStatus();
}

}  // namespace

std::string_view BatchStateName(BatchState s) { return kStateNames[static_cast<int>(s)]; }
Result<BatchState> ParseBatchState(std::string_view name) {
  for (int i = 0; i < 6; ++i) {
    if (name == kStateNames[i]) return static_cast<BatchState>(i);
  }
  return Error(ErrorCode::kInvalidArgument, "unknown batch state '" + std::string(name) + "'");
}
std::string_view ItemStatusName(ItemStatus s) { return kStatusNames[static_cast<int>(s)]; }
Result<ItemStatus> ParseItemStatus(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kStatusNames[i]) return static_cast<ItemStatus>(i);
  }
  return Error(ErrorCode::kInvalidArgument, "unknown item status '" + std::string(name) + "'");
}

double BatchInfo::Progress() const {
  if (counts.total == 0) return 1.0;
  return static_cast<double>(counts.issued + counts.failed + counts.duplicate) /
         static_cast<double>(counts.total);
}

std::string GatewayRequestId(std::string_view request_id) {
  return "batch." + std::string(request_id);
}

Status ValidateItemRequestId(std::string_view id) {
  if (id.empty() || id.size() > 120) {
    return Error(ErrorCode::kInvalidArgument, "'request_id' must have 1..120 characters");
  }
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return Error(ErrorCode::kInvalidArgument,
                   "'request_id' may hold only letters, digits and . _ : -");
    }
  }
  return OkStatus();
}

std::vector<store::Migration> BatchMigrations() {
  // PERSISTENT: released migrations are never edited.
  return {{500, "ra_batch_initial", R"(
CREATE TABLE ra_batches (
  id TEXT PRIMARY KEY,
  label TEXT NOT NULL,
  state TEXT NOT NULL,
  ca TEXT NOT NULL,
  profile TEXT NOT NULL,
  submitted_by TEXT NOT NULL,
  reviewed_by TEXT,
  reason TEXT,
  next_seq INTEGER NOT NULL,
  total INTEGER NOT NULL,
  pending INTEGER NOT NULL,
  issued INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  duplicate INTEGER NOT NULL,
  created_unix INTEGER NOT NULL,
  closed_unix INTEGER,
  reviewed_unix INTEGER,
  done_unix INTEGER
);
CREATE INDEX ra_batches_state ON ra_batches (state, created_unix);
CREATE TABLE ra_batch_items (
  batch_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  request_id TEXT,
  status TEXT NOT NULL,
  holder_name TEXT,
  id_kind TEXT,
  id_number_enc {{blob}},
  id_number_index TEXT,
  ssn_enc {{blob}},
  ssn_index TEXT,
  card_number TEXT,
  csr {{blob}},
  ca TEXT,
  profile TEXT,
  dup_batch TEXT,
  dup_seq INTEGER,
  lease_owner TEXT,
  lease_until INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  serial_hex TEXT,
  cert {{blob}},
  error_code TEXT,
  error_message TEXT,
  PRIMARY KEY (batch_id, seq)
);
CREATE INDEX ra_batch_items_status ON ra_batch_items (batch_id, status, seq);
CREATE TABLE ra_batch_requests (
  request_id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL,
  seq INTEGER NOT NULL
)
)"}};
}

namespace internal {

Result<BatchInfo> BatchFromRow(const store::Row& r) {
  BatchInfo b;
  b.id = r.Text(0);
  b.label = r.Text(1);
  GMPKI_ASSIGN_OR_RETURN(b.state, ParseBatchState(r.Text(2)));
  b.ca = r.Text(3);
  b.profile = r.Text(4);
  b.submitted_by = r.Text(5);
  if (!r.IsNull(6)) b.reviewed_by = r.Text(6);
  if (!r.IsNull(7)) b.reason = r.Text(7);
  b.counts = {r.Int(8), r.Int(9), r.Int(10), r.Int(11), r.Int(12)};
  b.created_unix = r.Int(13);
  if (!r.IsNull(14)) b.closed_unix = r.Int(14);
  if (!r.IsNull(15)) b.reviewed_unix = r.Int(15);
  if (!r.IsNull(16)) b.done_unix = r.Int(16);
  return b;
}

Result<BatchInfo> LoadBatch(store::Transaction& tx, const std::string& batch_id) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT " + std::string(kBatchColumns) +
                                                   " FROM ra_batches WHERE id = ?",
                                               {batch_id}));
  if (!row) return Error(ErrorCode::kNotFound, "no batch '" + batch_id + "'");
  return BatchFromRow(*row);
}

}  // namespace internal

BatchService::BatchService(store::Database& db, const pii::PiiCodec& pii, const Clock& clock,
                           BatchSettings settings)
    : db_(db), pii_(pii), clock_(clock), settings_(std::move(settings)) {}

Result<BatchInfo> BatchService::Create(const Actor& actor, const CreateBatchRequest& req) {
  GMPKI_ASSIGN_OR_RETURN(auto rnd, crypto::RandomBytes(8));
  const std::string id = "b-" + HexEncode(rnd);
  auto ev = Event(actor, "ra.batch.create", id, clock_, settings_.node);
  ev.detail = nlohmann::json{{"ca", req.ca}, {"profile", req.profile}}.dump();
  if (auto st = services::Authorize(actor, Permission::kSubscriberWrite); !st.ok()) {
    return Refused(db_, ev, st.error());
  }
  if (req.ca.empty() || req.profile.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a batch needs a default 'ca' and 'profile'");
  }
  if (req.label.size() > kMaxLabelLength) {
    return Error(ErrorCode::kInvalidArgument, "'label' is longer than 200 characters");
  }
  const std::int64_t now = ToUnixSeconds(clock_.Now());
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO ra_batches (id, label, state, ca, profile, submitted_by, next_seq, total, "
        "pending, issued, failed, duplicate, created_unix) "
        "VALUES (?, ?, 'open', ?, ?, ?, 0, 0, 0, 0, 0, 0, ?)",
        {id, req.label, req.ca, req.profile, actor.name, now});
    if (!r.ok()) return r.error();
    return OkStatus();
  }));
  BatchInfo b;
  b.id = id;
  b.label = req.label;
  b.ca = req.ca;
  b.profile = req.profile;
  b.submitted_by = actor.name;
  b.created_unix = now;
  return b;
}

Result<AppendReport> BatchService::Append(const Actor& actor, const std::string& batch_id,
                                          std::string_view ndjson,
                                          std::optional<std::int64_t> offset) {
  if (auto st = services::Authorize(actor, Permission::kSubscriberWrite); !st.ok()) {
    return Refused(db_, Event(actor, "ra.batch.append", batch_id, clock_, settings_.node),
                   st.error());
  }
  if (ndjson.size() > settings_.max_chunk_bytes) {
    return Error(ErrorCode::kTooLarge, "a chunk may hold at most " +
                                           std::to_string(settings_.max_chunk_bytes) + " bytes");
  }
  std::vector<std::string_view> lines = internal::SplitLines(ndjson);
  const auto n = static_cast<std::int64_t>(lines.size());
  if (n > settings_.max_chunk_lines) {
    return Error(ErrorCode::kTooLarge, "a chunk may hold at most " +
                                           std::to_string(settings_.max_chunk_lines) + " items");
  }
  BatchInfo b;
  std::int64_t held = 0;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(b, LoadBatch(*tx, batch_id));
    GMPKI_ASSIGN_OR_RETURN(
        auto row, tx->QueryOne("SELECT next_seq FROM ra_batches WHERE id = ?", {batch_id}));
    held = (*row).Int(0);
  }
  GMPKI_RETURN_IF_ERROR(RequireSubmitter(actor, b));
  AppendReport report;
  if (offset && *offset != held) {
    if (b.state == BatchState::kOpen && *offset >= 0 && *offset + n == held) {
      // The chunk arrived before and its answer was lost: acknowledge it again.
      report.first_seq = *offset + 1;
      report.items = n;
      report.next_offset = held;
      report.replayed = true;
      return report;
    }
    return Error(ErrorCode::kConflict, "batch " + batch_id + " holds " + std::to_string(held) +
                                           " items; the next chunk's offset must be " +
                                           std::to_string(held));
  }
  GMPKI_RETURN_IF_ERROR(RequireState(b, BatchState::kOpen, "adding items"));
  if (held + n > settings_.max_items) {
    GMPKI_RETURN_IF_ERROR(Discard(actor, batch_id, held + n));
    return Error(ErrorCode::kTooLarge, "batch " + batch_id + " would hold more than " +
                                           std::to_string(settings_.max_items) +
                                           " items; it was discarded and nothing of it is kept");
  }
  std::vector<internal::StagedItem> items;
  items.reserve(lines.size());
  for (std::int64_t i = 0; i < n; ++i) {
    items.push_back(internal::ParseItemLine(lines[static_cast<std::size_t>(i)], held + 1 + i, b.ca,
                                            b.profile, pii_));
    items.back().seq = held + 1 + i;
  }
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  // Reserves the sequence range; also serialises appends to one batch (row lock).
  GMPKI_ASSIGN_OR_RETURN(
      auto reserved,
      tx->Exec("UPDATE ra_batches SET next_seq = next_seq + ? WHERE id = ? AND state = 'open' "
               "AND next_seq = ?",
               {n, batch_id, held}));
  if (reserved != 1) {
    return Error(ErrorCode::kConflict, "batch " + batch_id +
                                           " changed while this chunk was staged (another chunk "
                                           "or a close); send it again with the current offset");
  }
  GMPKI_RETURN_IF_ERROR(internal::StageItems(*tx, batch_id, items));
  report.first_seq = held + 1;
  report.items = n;
  report.next_offset = held + n;
  for (const auto& it : items) {
    switch (it.status) {
      case ItemStatus::kPending:
        ++report.accepted;
        break;
      case ItemStatus::kDuplicate:
        ++report.duplicate;
        break;
      default:
        ++report.failed;
        if (report.errors.size() < kMaxReportedErrors) {
          report.errors.push_back({it.seq, it.request_id, it.error_code, it.error_message});
        }
    }
  }
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "UPDATE ra_batches SET total = total + ?, pending = pending + ?, failed = failed + ?, "
      "duplicate = duplicate + ? WHERE id = ?",
      {n, report.accepted, report.failed, report.duplicate, batch_id}));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return report;
}

Status BatchService::Discard(const Actor& actor, const std::string& batch_id,
                             std::int64_t would_hold) {
  auto ev = Event(actor, "ra.batch.discard", batch_id, clock_, settings_.node);
  ev.outcome = audit::Outcome::kFailure;
  ev.detail = nlohmann::json{{"error", ErrorSlug(ErrorCode::kTooLarge)},
                             {"items", would_hold},
                             {"max_items", settings_.max_items}}
                  .dump();
  const std::string reason = "more than " + std::to_string(settings_.max_items) +
                             " items: discarded (" + ErrorSlug(ErrorCode::kTooLarge) + ")";
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  // Nothing half-written: the claims, the items and the counters go in one transaction.
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "DELETE FROM ra_batch_requests WHERE batch_id = ? AND request_id IN "
      "(SELECT request_id FROM ra_batch_items WHERE batch_id = ? AND request_id IS NOT NULL)",
      {batch_id, batch_id}));
  GMPKI_RETURN_IF_ERROR(tx->Exec("DELETE FROM ra_batch_items WHERE batch_id = ?", {batch_id}));
  GMPKI_ASSIGN_OR_RETURN(
      auto changed,
      tx->Exec("UPDATE ra_batches SET state = 'rejected', reason = ?, next_seq = 0, total = 0, "
               "pending = 0, issued = 0, failed = 0, duplicate = 0, reviewed_unix = ? "
               "WHERE id = ? AND state = 'open'",
               {reason, ToUnixSeconds(clock_.Now()), batch_id}));
  if (changed != 1) return Error(ErrorCode::kConflict, "batch " + batch_id + " is no longer open");
  GMPKI_RETURN_IF_ERROR(audit::AppendAudit(*tx, ev));
  return tx->Commit();
}

Result<BatchInfo> BatchService::Close(const Actor& actor, const std::string& batch_id) {
  return Transition(actor, batch_id, "close", "");
}
Result<BatchInfo> BatchService::Approve(const Actor& actor, const std::string& batch_id) {
  return Transition(actor, batch_id, "approve", "");
}
Result<BatchInfo> BatchService::Reject(const Actor& actor, const std::string& batch_id,
                                       const std::string& reason) {
  if (reason.empty() || reason.size() > kMaxReasonLength) {
    return Error(ErrorCode::kInvalidArgument, "a rejection needs a reason of 1..500 characters");
  }
  return Transition(actor, batch_id, "reject", reason);
}

Result<BatchInfo> BatchService::Transition(const Actor& actor, const std::string& batch_id,
                                           const std::string& action, const std::string& reason) {
  auto ev = Event(actor, "ra.batch." + action, batch_id, clock_, settings_.node);
  const bool review = action != "close";
  if (auto st = services::Authorize(
          actor, review ? Permission::kSubscriberReview : Permission::kSubscriberWrite);
      !st.ok()) {
    return Refused(db_, ev, st.error());
  }
  const std::int64_t now = ToUnixSeconds(clock_.Now());
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  GMPKI_ASSIGN_OR_RETURN(auto b, LoadBatch(*tx, batch_id));
  Status check = OkStatus();
  if (review) {
    // Four-eyes (HI-06 with RA-01 review): whoever submitted a batch never approves it.
    if (actor.name == b.submitted_by) {
      check = Error(ErrorCode::kPermissionDenied, "four-eyes rule: batch " + batch_id +
                                                      " was submitted by '" + actor.name +
                                                      "', who may not also " + action + " it");
    } else {
      check = RequireState(b, BatchState::kClosed, action);
    }
  } else {
    check = RequireSubmitter(actor, b);
    if (check.ok()) check = RequireState(b, BatchState::kOpen, "closing");
  }
  if (!check.ok()) {
    GMPKI_RETURN_IF_ERROR(tx->Rollback());
    return Refused(db_, ev, check.error());
  }
  std::string sql;
  std::vector<store::Value> params;
  if (action == "close") {
    sql = "UPDATE ra_batches SET state = 'closed', closed_unix = ? WHERE id = ? AND state = 'open'";
    params = {now, batch_id};
  } else if (action == "approve") {
    const char* next = b.counts.pending == 0 ? "done" : "approved";
    sql = std::string("UPDATE ra_batches SET state = '") + next +
          "', reviewed_by = ?, reviewed_unix = ?, done_unix = " +
          (b.counts.pending == 0 ? "?" : "NULL") + " WHERE id = ? AND state = 'closed'";
    params = {actor.name, now};
    if (b.counts.pending == 0) params.push_back(now);
    params.push_back(batch_id);
  } else {
    // The request IDs go back to the pool so a corrected batch can carry them again.
    GMPKI_RETURN_IF_ERROR(tx->Exec(
        "DELETE FROM ra_batch_requests WHERE batch_id = ? AND request_id IN "
        "(SELECT request_id FROM ra_batch_items WHERE batch_id = ? AND status = 'pending')",
        {batch_id, batch_id}));
    GMPKI_RETURN_IF_ERROR(
        tx->Exec("UPDATE ra_batch_items SET status = 'failed', error_code = ?, error_message = ?, "
                 "id_number_enc = NULL, ssn_enc = NULL, csr = NULL WHERE batch_id = ? AND status = "
                 "'pending'",
                 {ErrorSlug(ErrorCode::kFailedPrecondition), "the batch was rejected: " + reason,
                  batch_id}));
    sql =
        "UPDATE ra_batches SET state = 'rejected', reviewed_by = ?, reviewed_unix = ?, "
        "reason = ?, failed = failed + pending, pending = 0 WHERE id = ? AND state = 'closed'";
    params = {actor.name, now, reason, batch_id};
  }
  GMPKI_ASSIGN_OR_RETURN(auto changed, tx->Exec(sql, params));
  if (changed != 1) return Error(ErrorCode::kConflict, "batch " + batch_id + " changed meanwhile");
  GMPKI_ASSIGN_OR_RETURN(b, LoadBatch(*tx, batch_id));
  nlohmann::json detail = CountsJson(b.counts);
  detail["state"] = std::string(BatchStateName(b.state));
  if (!reason.empty()) detail["reason"] = reason;
  ev.detail = detail.dump();
  GMPKI_RETURN_IF_ERROR(audit::AppendAudit(*tx, ev));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return b;
}

Result<BatchInfo> BatchService::Get(const Actor& actor, const std::string& batch_id) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kSubscriberRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  return LoadBatch(*tx, batch_id);
}

Result<std::vector<BatchInfo>> BatchService::List(const Actor& actor, const BatchQuery& q) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kSubscriberRead));
  if (q.limit < 1 || q.limit > 1000 || q.offset < 0) {
    return Error(ErrorCode::kInvalidArgument, "limit must be 1..1000 and offset >= 0");
  }
  std::string sql = "SELECT " + std::string(internal::kBatchColumns) + " FROM ra_batches";
  std::vector<store::Value> params;
  if (q.state) {
    sql += " WHERE state = ?";
    params.push_back(std::string(BatchStateName(*q.state)));
  }
  sql += " ORDER BY created_unix DESC, id LIMIT ? OFFSET ?";
  params.push_back(std::int64_t{q.limit});
  params.push_back(std::int64_t{q.offset});
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(sql, params));
  std::vector<BatchInfo> out;
  for (const auto& r : rows) {
    GMPKI_ASSIGN_OR_RETURN(auto b, internal::BatchFromRow(r));
    out.push_back(std::move(b));
  }
  return out;
}

Result<std::vector<ItemResult>> BatchService::Results(const Actor& actor,
                                                      const std::string& batch_id,
                                                      std::int64_t after, int limit) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kCertRequest));
  if (limit < 1 || limit > 10000 || after < 0) {
    return Error(ErrorCode::kInvalidArgument, "limit must be 1..10000 and after >= 0");
  }
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_RETURN_IF_ERROR(LoadBatch(*tx, batch_id));
  GMPKI_ASSIGN_OR_RETURN(
      auto rows,
      tx->Query("SELECT i.seq, i.request_id, i.status, i.serial_hex, i.cert, i.error_code, "
                "i.error_message, i.dup_batch, i.dup_seq, o.status, o.serial_hex, o.cert, "
                "o.error_code, o.error_message FROM ra_batch_items i LEFT JOIN ra_batch_items o "
                "ON o.batch_id = i.dup_batch AND o.seq = i.dup_seq "
                "WHERE i.batch_id = ? AND i.seq > ? ORDER BY i.seq LIMIT ?",
                {batch_id, after, std::int64_t{limit}}));
  std::vector<ItemResult> out;
  out.reserve(rows.size());
  auto text = [](const store::Row& r, std::size_t i) {
    return r.IsNull(i) ? std::string() : r.Text(i);
  };
  for (const auto& r : rows) {
    ItemResult it;
    it.seq = r.Int(0);
    it.request_id = text(r, 1);
    GMPKI_ASSIGN_OR_RETURN(it.status, ParseItemStatus(r.Text(2)));
    std::size_t base = 3;
    if (it.status == ItemStatus::kDuplicate) {
      it.duplicate_of_batch = text(r, 7);
      it.duplicate_of_seq = r.IsNull(8) ? 0 : r.Int(8);
      if (!r.IsNull(9)) {
        GMPKI_ASSIGN_OR_RETURN(it.original_status, ParseItemStatus(r.Text(9)));
      }
      base = 10;  // the original's serial, certificate and error
    }
    it.serial_hex = text(r, base);
    if (!r.IsNull(base + 1)) it.certificate = r.Blob(base + 1);
    it.error_code = text(r, base + 2);
    it.error_message = text(r, base + 3);
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace gmpki::ra_batch
