#include "services/va_feed/feed_receiver.h"

#include <algorithm>
#include <map>

namespace gmpki::va_feed {
namespace {

// Rows per multi-row INSERT: 7 columns x 500 stays far below every placeholder limit.
constexpr std::size_t kInsertRows = 500;

constexpr const char* kStateColumns =
    "source, has_state, applied_seq, snapshot_created_ms, gen, pending_gen, pending_seq,"
    " pending_created_ms, next_part, last_message_unix";

Status InsertIssuers(store::Transaction& tx, std::int64_t gen,
                     const std::vector<va::IssuerRecord>& issuers) {
  for (const auto& i : issuers) {
    GMPKI_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO va_feed_issuers (gen, ca, cert_der) VALUES (?, ?, ?)"
                " ON CONFLICT (gen, ca) DO UPDATE SET cert_der = excluded.cert_der",
                {gen, i.ca, i.cert_der}));
  }
  return OkStatus();
}

// Upserts: a record is the certificate's current state at export, so the later one wins.
Status InsertStatuses(store::Transaction& tx, std::int64_t gen,
                      const std::vector<va::StatusRecord>& all) {
  std::vector<store::Value> params;
  for (std::size_t at = 0; at < all.size(); at += kInsertRows) {
    std::size_t n = std::min(kInsertRows, all.size() - at);
    params.clear();
    params.reserve(n * 7);
    for (std::size_t i = at; i < at + n; ++i) {
      const auto& s = all[i];
      params.emplace_back(gen);
      params.emplace_back(s.ca);
      params.emplace_back(s.serial_hex);
      params.emplace_back(std::string(1, static_cast<char>(s.state)));
      params.emplace_back(static_cast<std::int64_t>(s.reason));
      params.emplace_back(s.revoked_unix);
      params.emplace_back(s.not_after);
    }
    GMPKI_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO va_feed_status (gen, ca, serial_hex, state, reason, revoked_unix, "
                "not_after) VALUES " +
                    store::ValuesPlaceholders(n, 7) +
                    " ON CONFLICT (gen, ca, serial_hex) DO UPDATE SET state = excluded.state,"
                    " reason = excluded.reason, revoked_unix = excluded.revoked_unix, not_after = "
                    "excluded.not_after",
                params));
  }
  return OkStatus();
}

// Only a newer CRL replaces the one held for its scope (numbers strictly increase per CA,
// RFC 5280 §5.2.3), so a re-sent older CRL never rolls the scope back.
Status InsertCrls(store::Transaction& tx, std::int64_t gen, const std::vector<CrlRecord>& crls) {
  for (const auto& c : crls) {
    if (c.number > static_cast<std::uint64_t>(INT64_MAX) ||
        c.delta_base > static_cast<std::uint64_t>(INT64_MAX)) {
      return Error(ErrorCode::kUnsupported, "CRL number beyond 2^63");
    }
    GMPKI_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO va_feed_crls (gen, ca, crl_partition, is_delta, number, delta_base, der)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gen, ca, crl_partition, is_delta) DO UPDATE SET"
        " number = excluded.number, delta_base = excluded.delta_base, der = excluded.der"
        " WHERE va_feed_crls.number < excluded.number",
        {gen, c.ca, c.partition, std::int64_t{c.delta ? 1 : 0}, static_cast<std::int64_t>(c.number),
         static_cast<std::int64_t>(c.delta_base), c.der}));
  }
  return OkStatus();
}

Status DeleteGenerations(store::Transaction& tx, const char* where, std::int64_t gen) {
  for (const char* table : {"va_feed_status", "va_feed_issuers", "va_feed_crls"}) {
    GMPKI_RETURN_IF_ERROR(tx.Exec(std::string("DELETE FROM ") + table + " WHERE " + where, {gen}));
  }
  return OkStatus();
}

std::size_t Records(const FeedMessage& m) {
  return m.issuers.size() + m.statuses.size() + m.crls.size();
}

}  // namespace

std::vector<store::Migration> VaFeedMigrations() {
  return {
      // The public node's copy of what the business side pushed (README "Receiver tables").
      // Rows carry a generation: a snapshot is staged under a new one while the applied one
      // keeps serving, and its last part switches generations in one transaction.
      {800, "va feed receiver",
       "CREATE TABLE va_feed_state ("
       " id INTEGER PRIMARY KEY, source TEXT NOT NULL, has_state INTEGER NOT NULL,"
       " applied_seq INTEGER NOT NULL, snapshot_created_ms INTEGER NOT NULL, gen INTEGER NOT NULL,"
       " pending_gen INTEGER NOT NULL, pending_seq INTEGER NOT NULL,"
       " pending_created_ms INTEGER NOT NULL, next_part INTEGER NOT NULL,"
       " last_message_unix INTEGER NOT NULL);"
       "INSERT INTO va_feed_state (id, source, has_state, applied_seq, snapshot_created_ms, gen,"
       " pending_gen, pending_seq, pending_created_ms, next_part, last_message_unix)"
       " VALUES (1, '', 0, 0, 0, 0, 0, 0, 0, 0, 0);"
       "CREATE TABLE va_feed_issuers ("
       " gen INTEGER NOT NULL, ca TEXT NOT NULL, cert_der {{blob}} NOT NULL, PRIMARY KEY (gen, "
       "ca));"
       "CREATE TABLE va_feed_status ("
       " gen INTEGER NOT NULL, ca TEXT NOT NULL, serial_hex TEXT NOT NULL, state TEXT NOT NULL,"
       " reason INTEGER NOT NULL, revoked_unix INTEGER NOT NULL, not_after INTEGER NOT NULL,"
       " PRIMARY KEY (gen, ca, serial_hex));"
       "CREATE TABLE va_feed_crls ("
       " gen INTEGER NOT NULL, ca TEXT NOT NULL, crl_partition INTEGER NOT NULL,"
       " is_delta INTEGER NOT NULL, number INTEGER NOT NULL, delta_base INTEGER NOT NULL,"
       " der {{blob}} NOT NULL, PRIMARY KEY (gen, ca, crl_partition, is_delta))"},
  };
}

struct FeedReceiver::StateRow {
  std::string source;
  bool has_state = false;
  std::int64_t applied_seq = 0, snapshot_created_ms = 0, gen = 0, pending_gen = 0, pending_seq = 0,
               pending_created_ms = 0, next_part = 0, last_message_unix = 0;
};

FeedReceiver::FeedReceiver(store::Database& db, ReceiverOptions options, const Clock& clock)
    : db_(db), options_(std::move(options)), clock_(clock) {}

void FeedReceiver::SetApplyCallback(ApplyCallback on_apply) {
  std::lock_guard<std::mutex> lock(mu_);
  on_apply_ = std::move(on_apply);
}

void FeedReceiver::SetResetCallback(std::function<void()> on_reset) {
  std::lock_guard<std::mutex> lock(mu_);
  on_reset_ = std::move(on_reset);
}

Result<FeedReceiver::StateRow> FeedReceiver::LoadState(store::Transaction& tx) {
  GMPKI_ASSIGN_OR_RETURN(auto r, tx.QueryOne(std::string("SELECT ") + kStateColumns +
                                             " FROM va_feed_state WHERE id = 1"));
  if (!r)
    return Error(ErrorCode::kStorageFailure,
                 "va_feed_state has no row (migration 800 not applied?)");
  StateRow s;
  s.source = r->Text(0);
  s.has_state = r->Int(1) != 0;
  s.applied_seq = r->Int(2);
  s.snapshot_created_ms = r->Int(3);
  s.gen = r->Int(4);
  s.pending_gen = r->Int(5);
  s.pending_seq = r->Int(6);
  s.pending_created_ms = r->Int(7);
  s.next_part = r->Int(8);
  s.last_message_unix = r->Int(9);
  return s;
}

Result<ReceiveOutcome> FeedReceiver::Receive(std::string_view wire) {
  std::lock_guard<std::mutex> lock(mu_);
  GMPKI_ASSIGN_OR_RETURN(
      FeedMessage m, DecodeVerified(wire, options_.trusted_key, options_.max_records_per_message));
  if (!options_.expected_source.empty() && m.header.source != options_.expected_source) {
    return Error(ErrorCode::kPermissionDenied, "feed from '" + m.header.source + "', expected '" +
                                                   options_.expected_source + "'");
  }
  return m.header.kind == MessageKind::kDelta ? ApplyDelta(m) : ApplySnapshotPart(m);
}

Result<ReceiveOutcome> FeedReceiver::ApplyDelta(const FeedMessage& m) {
  const FeedHeader& h = m.header;
  if (h.base > h.seq) return Error(ErrorCode::kMalformedInput, "delta base above its seq");
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  GMPKI_ASSIGN_OR_RETURN(StateRow st, LoadState(*tx));
  if (!st.has_state)
    return Error(ErrorCode::kFailedPrecondition, "no state yet: a snapshot is needed");
  if (st.source != h.source) {
    return Error(ErrorCode::kFailedPrecondition,
                 "state is from '" + st.source + "': a snapshot is needed");
  }
  const std::size_t records = Records(m);
  if (h.seq < st.applied_seq || (h.seq == st.applied_seq && records > 0)) {
    return Error(ErrorCode::kConflict, "delta (" + std::to_string(h.base) + ", " +
                                           std::to_string(h.seq) + "] already applied; at " +
                                           std::to_string(st.applied_seq));
  }
  if (h.base > st.applied_seq) {
    return Error(ErrorCode::kFailedPrecondition, "gap: delta starts at " + std::to_string(h.base) +
                                                     ", receiver is at " +
                                                     std::to_string(st.applied_seq));
  }
  GMPKI_RETURN_IF_ERROR(InsertIssuers(*tx, st.gen, m.issuers));
  GMPKI_RETURN_IF_ERROR(InsertStatuses(*tx, st.gen, m.statuses));
  GMPKI_RETURN_IF_ERROR(InsertCrls(*tx, st.gen, m.crls));
  GMPKI_RETURN_IF_ERROR(
      tx->Exec("UPDATE va_feed_state SET applied_seq = ?, last_message_unix = ? WHERE id = 1",
               {h.seq, ToUnixSeconds(clock_.Now())}));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  if (records > 0 && on_apply_) on_apply_(m.statuses, m.issuers);
  ReceiveOutcome out;
  out.kind = MessageKind::kDelta;
  out.applied_seq = h.seq;
  out.records = records;
  return out;
}

Result<ReceiveOutcome> FeedReceiver::ApplySnapshotPart(const FeedMessage& m) {
  const FeedHeader& h = m.header;
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  GMPKI_ASSIGN_OR_RETURN(StateRow st, LoadState(*tx));
  if (h.part == 0) {
    if (st.has_state && (h.seq < st.applied_seq || h.created_ms <= st.snapshot_created_ms)) {
      return Error(ErrorCode::kConflict, "snapshot at " + std::to_string(h.seq) +
                                             " is not newer than the applied state (at " +
                                             std::to_string(st.applied_seq) + ")");
    }
    if (st.next_part > 0 && h.created_ms < st.pending_created_ms) {
      return Error(ErrorCode::kConflict, "snapshot older than the one being received");
    }
    // A snapshot left unfinished (the sender gave up or restarted) is discarded.
    if (st.next_part > 0) GMPKI_RETURN_IF_ERROR(DeleteGenerations(*tx, "gen = ?", st.pending_gen));
    st.pending_gen = std::max(st.gen, st.pending_gen) + 1;
    st.pending_seq = h.seq;
    st.pending_created_ms = h.created_ms;
  } else if (st.next_part == 0 || h.part != st.next_part || h.seq != st.pending_seq ||
             h.created_ms != st.pending_created_ms) {
    return Error(ErrorCode::kFailedPrecondition,
                 "snapshot part " + std::to_string(h.part) +
                     " out of order: send the snapshot again from part 0");
  }
  GMPKI_RETURN_IF_ERROR(InsertIssuers(*tx, st.pending_gen, m.issuers));
  GMPKI_RETURN_IF_ERROR(InsertStatuses(*tx, st.pending_gen, m.statuses));
  GMPKI_RETURN_IF_ERROR(InsertCrls(*tx, st.pending_gen, m.crls));
  const std::int64_t now = ToUnixSeconds(clock_.Now());
  ReceiveOutcome out;
  out.kind = MessageKind::kSnapshot;
  out.records = Records(m);
  if (!h.last) {
    GMPKI_RETURN_IF_ERROR(tx->Exec(
        "UPDATE va_feed_state SET pending_gen = ?, pending_seq = ?, pending_created_ms = ?,"
        " next_part = ?, last_message_unix = ? WHERE id = 1",
        {st.pending_gen, st.pending_seq, st.pending_created_ms,
         static_cast<std::int64_t>(h.part) + 1, now}));
    GMPKI_RETURN_IF_ERROR(tx->Commit());
    out.applied_seq = st.applied_seq;
    out.snapshot_pending = true;
    out.next_part = h.part + 1;
    return out;
  }
  // The last part: the staged generation becomes the state, the old one goes, in one commit.
  GMPKI_RETURN_IF_ERROR(DeleteGenerations(*tx, "gen <> ?", st.pending_gen));
  GMPKI_RETURN_IF_ERROR(
      tx->Exec("UPDATE va_feed_state SET source = ?, has_state = 1, applied_seq = ?,"
               " snapshot_created_ms = ?, gen = ?, pending_gen = ?, pending_seq = 0,"
               " pending_created_ms = 0, next_part = 0, last_message_unix = ? WHERE id = 1",
               {h.source, h.seq, h.created_ms, st.pending_gen, st.pending_gen, now}));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  if (on_reset_) on_reset_();
  if (on_apply_) GMPKI_RETURN_IF_ERROR(StreamGeneration(st.pending_gen, on_apply_));
  out.applied_seq = h.seq;
  return out;
}

Status FeedReceiver::StreamGeneration(std::int64_t gen, const ApplyCallback& cb) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(
      auto rows,
      tx->Query("SELECT ca, cert_der FROM va_feed_issuers WHERE gen = ? ORDER BY ca", {gen}));
  std::vector<va::IssuerRecord> issuers;
  for (const auto& r : rows) issuers.push_back(va::IssuerRecord{r.Text(0), r.Blob(1)});
  cb({}, issuers);
  GMPKI_ASSIGN_OR_RETURN(
      auto cas,
      tx->Query("SELECT DISTINCT ca FROM va_feed_status WHERE gen = ? ORDER BY ca", {gen}));
  const auto page = static_cast<std::int64_t>(std::max<std::size_t>(1, options_.callback_batch));
  std::vector<va::StatusRecord> batch;
  for (const auto& c : cas) {
    const std::string& ca = c.Text(0);
    std::string after;
    for (;;) {
      GMPKI_ASSIGN_OR_RETURN(
          rows,
          tx->Query("SELECT serial_hex, state, reason, revoked_unix, not_after FROM va_feed_status"
                    " WHERE gen = ? AND ca = ? AND serial_hex > ? ORDER BY serial_hex LIMIT ?",
                    {gen, ca, after, page}));
      batch.clear();
      batch.reserve(rows.size());
      for (const auto& r : rows) {
        va::StatusRecord s;
        s.ca = ca;
        s.serial_hex = r.Text(0);
        s.state = static_cast<va::CertState>(r.Text(1).empty() ? 'g' : r.Text(1)[0]);
        s.reason = static_cast<int>(r.Int(2));
        s.revoked_unix = r.Int(3);
        s.not_after = r.Int(4);
        batch.push_back(std::move(s));
      }
      if (!batch.empty()) cb(batch, {});
      if (rows.size() < static_cast<std::size_t>(page)) break;
      after = rows.back().Text(0);
    }
  }
  return OkStatus();
}

Status FeedReceiver::LoadAll(const ApplyCallback& cb) {
  std::lock_guard<std::mutex> lock(mu_);
  std::int64_t gen = 0;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(StateRow st, LoadState(*tx));
    if (!st.has_state) return OkStatus();
    gen = st.gen;
  }
  return StreamGeneration(gen, cb);
}

Result<ReceiverState> FeedReceiver::State() {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(StateRow st, LoadState(*tx));
  ReceiverState out;
  out.has_state = st.has_state;
  out.applied_seq = st.applied_seq;
  out.source = st.source;
  out.snapshot_created_ms = st.snapshot_created_ms;
  out.last_message_unix = st.last_message_unix;
  out.generation = st.gen;
  return out;
}

Result<Bytes> FeedReceiver::LatestCrl(const std::string& ca, std::optional<std::int64_t> partition,
                                      bool delta) {
  if (partition && *partition < 0)
    return Error(ErrorCode::kInvalidArgument, "negative CRL partition");
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(
      auto r, tx->QueryOne("SELECT c.der FROM va_feed_crls c JOIN va_feed_state s ON s.id = 1"
                           " WHERE s.has_state = 1 AND c.gen = s.gen AND c.ca = ?"
                           " AND c.crl_partition = ? AND c.is_delta = ?",
                           {ca, partition.value_or(-1), std::int64_t{delta ? 1 : 0}}));
  if (!r) {
    return Error(ErrorCode::kNotFound,
                 std::string(delta ? "no delta CRL" : "no CRL") + " received for " + ca +
                     (partition ? " partition " + std::to_string(*partition) : ""));
  }
  return r->Blob(0);
}

}  // namespace gmpki::va_feed
