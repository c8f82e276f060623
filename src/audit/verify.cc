// Verification of the audit chain and its signed checkpoints (CC-FAU tamper evidence).
#include <algorithm>

#include "audit/audit.h"
#include "audit/chain.h"

namespace gmpki::audit {
namespace {

constexpr std::int64_t kPageSize = 1000;

struct StoredCheckpoint {
  std::int64_t seq = 0;
  Bytes hash;
  Bytes signature;
  Bytes public_key;
};

// Stops the walk at the first problem; the report names where and what.
struct Failure {
  std::int64_t seq;
  std::string message;
};

template <class T>
const T* Get(const store::Row& row, std::size_t i) {
  return i < row.size() ? std::get_if<T>(&row.at(i)) : nullptr;
}

Result<std::vector<StoredCheckpoint>> LoadCheckpoints(store::Transaction& tx) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                         tx.Query("SELECT seq, hash, signature, public_key FROM audit_checkpoints"
                                  " ORDER BY seq"));
  std::vector<StoredCheckpoint> out;
  for (const store::Row& row : rows) {
    const auto* seq = Get<std::int64_t>(row, 0);
    const auto* hash = Get<Bytes>(row, 1);
    const auto* sig = Get<Bytes>(row, 2);
    const auto* pub = Get<Bytes>(row, 3);
    if (!seq || !hash || !sig || !pub) {
      return Error(ErrorCode::kIntegrityFailure, "an audit checkpoint row is damaged");
    }
    out.push_back({*seq, *hash, *sig, *pub});
  }
  return out;
}

std::optional<Failure> CheckCheckpoint(const StoredCheckpoint& c, ByteView record_hash,
                                       const crypto::Sm2PublicKey& audit_key) {
  const ByteView key = audit_key.point();
  if (!std::equal(c.public_key.begin(), c.public_key.end(), key.begin(), key.end())) {
    return Failure{c.seq, "checkpoint is not signed by the audit key"};
  }
  if (!std::equal(c.hash.begin(), c.hash.end(), record_hash.begin(), record_hash.end())) {
    return Failure{c.seq, "checkpoint hash does not match the record hash at its seq"};
  }
  if (!crypto::Sm2Verify(audit_key, AsBytes(crypto::kDefaultSm2Id),
                         internal::CheckpointMessage(c.seq, c.hash), c.signature)) {
    return Failure{c.seq, "checkpoint signature does not verify"};
  }
  return std::nullopt;
}

// The walk proper. Fills the counters of `rep`; returns the first failure, if any.
Result<std::optional<Failure>> Walk(store::Transaction& tx, const crypto::Sm2PublicKey& audit_key,
                                    VerifyReport& rep) {
  GMPKI_ASSIGN_OR_RETURN(auto head_row,
                         tx.QueryOne("SELECT seq, hash FROM audit_head WHERE id = 1"));
  const std::int64_t* head_seq = head_row ? Get<std::int64_t>(*head_row, 0) : nullptr;
  if (!head_seq) return std::optional<Failure>(Failure{0, "the audit head row is missing"});
  rep.head_seq = *head_seq;
  Bytes head_hash(internal::kHashSize, 0);
  if (*head_seq > 0) {
    const Bytes* h = Get<Bytes>(*head_row, 1);
    if (!h || h->size() != internal::kHashSize) {
      return std::optional<Failure>(Failure{*head_seq, "the audit head hash is damaged"});
    }
    head_hash = *h;
  }

  GMPKI_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> cps, LoadCheckpoints(tx));
  std::size_t ci = 0;
  Bytes prev(internal::kHashSize, 0);
  // A checkpoint of the empty log covers the genesis value.
  for (; ci < cps.size() && cps[ci].seq <= 0; ++ci) {
    if (cps[ci].seq < 0) return std::optional<Failure>(Failure{0, "checkpoint with negative seq"});
    if (auto f = CheckCheckpoint(cps[ci], prev, audit_key)) return f;
    ++rep.checkpoints_checked;
  }

  std::int64_t last = 0;
  for (;;) {
    GMPKI_ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                           tx.Query("SELECT " + std::string(internal::kRecordColumns) +
                                        " FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?",
                                    {last, kPageSize}));
    for (const store::Row& row : rows) {
      const std::int64_t expected = last + 1;
      auto rec = internal::RecordFromRow(row);
      if (!rec) return std::optional<Failure>(Failure{expected, rec.error().message()});
      if (rec->seq != expected) {
        return std::optional<Failure>(Failure{
            expected, "record missing: the next record has seq " + std::to_string(rec->seq)});
      }
      if (rec->seq > rep.head_seq) {
        return std::optional<Failure>(
            Failure{rec->seq, "record beyond the audit head (inserted, or the head was reset)"});
      }
      if (rec->prev_hash != prev) {
        return std::optional<Failure>(
            Failure{rec->seq,
                    "prev_hash does not match the previous record's hash (a record "
                    "was removed, inserted or reordered)"});
      }
      if (internal::ComputeRecordHash(rec->seq, prev, rec->event) != rec->hash) {
        return std::optional<Failure>(
            Failure{rec->seq, "record does not match its hash (the record was modified)"});
      }
      for (; ci < cps.size() && cps[ci].seq == rec->seq; ++ci) {
        if (auto f = CheckCheckpoint(cps[ci], rec->hash, audit_key)) return f;
        ++rep.checkpoints_checked;
        rep.last_checkpoint_seq = rec->seq;
      }
      prev = std::move(rec->hash);
      last = rec->seq;
      ++rep.records_checked;
    }
    if (static_cast<std::int64_t>(rows.size()) < kPageSize) break;
  }

  if (last != rep.head_seq) {
    return std::optional<Failure>(
        Failure{last + 1, "the audit head is at seq " + std::to_string(rep.head_seq) +
                              " but the last record is " + std::to_string(last) +
                              " (records were removed from the end)"});
  }
  if (head_hash != prev) {
    return std::optional<Failure>(
        Failure{last, "the audit head hash does not match the last record"});
  }
  if (ci < cps.size()) {
    return std::optional<Failure>(
        Failure{cps[ci].seq, "a checkpoint covers seq " + std::to_string(cps[ci].seq) +
                                 " but the log ends at " + std::to_string(last) +
                                 " (signed records were removed from the end)"});
  }
  rep.unsigned_tail = last - rep.last_checkpoint_seq;
  return std::optional<Failure>();
}

}  // namespace

Status VerifyReport::ToStatus() const {
  if (ok) return OkStatus();
  return Error(ErrorCode::kIntegrityFailure,
               "audit log seq " + std::to_string(first_failing_seq) + ": " + message);
}

Result<VerifyReport> VerifyAudit(store::Database& db, const crypto::Sm2PublicKey& audit_key) {
  // One snapshot for the whole walk, so appends committed while it runs are not mistaken for
  // records beyond the head; a read-only snapshot also never holds up audited operations.
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db.BeginReadOnly());
  VerifyReport rep;
  auto failure = Walk(*tx, audit_key, rep);
  (void)tx->Rollback();
  if (!failure) {
    if (failure.error().code() == ErrorCode::kIntegrityFailure) {
      rep.first_failing_seq = 0;
      rep.message = failure.error().message();
      return rep;
    }
    return failure.error();
  }
  if (*failure) {
    rep.first_failing_seq = (*failure)->seq;
    rep.message = std::move((*failure)->message);
    rep.unsigned_tail = 0;
    return rep;
  }
  rep.ok = true;
  return rep;
}

}  // namespace gmpki::audit
