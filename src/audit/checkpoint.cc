// Signed checkpoints of the audit chain head (CC-FAU tamper evidence, CC-FCO proof of origin).
#include "audit/audit.h"
#include "audit/chain.h"

namespace gmpki::audit {
namespace {

struct Head {
  std::int64_t seq = 0;
  Bytes hash;
};

Result<Head> ReadHead(store::Transaction& tx) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT seq, hash FROM audit_head WHERE id = 1"));
  if (!row || !std::holds_alternative<std::int64_t>(row->at(0))) {
    return Error(ErrorCode::kIntegrityFailure, "the audit head row is missing or damaged");
  }
  Head h;
  h.seq = row->Int(0);
  if (h.seq == 0) {
    h.hash = Bytes(internal::kHashSize, 0);
  } else if (std::holds_alternative<Bytes>(row->at(1)) &&
             row->Blob(1).size() == internal::kHashSize) {
    h.hash = row->Blob(1);
  } else {
    return Error(ErrorCode::kIntegrityFailure, "the audit head row is damaged");
  }
  return h;
}

Result<std::optional<Checkpoint>> LoadCheckpoint(store::Transaction& tx, std::int64_t seq) {
  GMPKI_ASSIGN_OR_RETURN(auto row,
                         tx.QueryOne("SELECT seq, hash, signature, key_label, public_key, time_unix"
                                     " FROM audit_checkpoints WHERE seq = ?",
                                     {seq}));
  if (!row) return std::optional<Checkpoint>();
  Checkpoint c;
  c.seq = row->Int(0);
  c.hash = row->Blob(1);
  c.signature = row->Blob(2);
  c.key_label = row->Text(3);
  c.public_key = row->Blob(4);
  c.time = FromUnixSeconds(row->Int(5));
  return std::optional<Checkpoint>(std::move(c));
}

}  // namespace

Result<Checkpoint> SignCheckpoint(store::Database& db, device::Session& session,
                                  std::uint32_t key_index, const Clock& clock) {
  GMPKI_ASSIGN_OR_RETURN(device::KeyInfo key, session.GetKey(key_index));
  if (key.purpose != device::KeyPurpose::kSign) {
    return Error(ErrorCode::kInvalidArgument,
                 "audit checkpoint key " + key.label + " is not a signing key");
  }

  // Read the head in its own short transaction: signing must not hold the head lock (it
  // would stall every audited operation while the device works). seq and hash are written
  // together by AppendAudit, so the pair read here is always a real head.
  Head head;
  {
    GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(head, ReadHead(*tx));
    GMPKI_ASSIGN_OR_RETURN(std::optional<Checkpoint> existing, LoadCheckpoint(*tx, head.seq));
    (void)tx->Rollback();
    if (existing && existing->hash == head.hash &&
        existing->public_key ==
            Bytes(key.public_key.point().begin(), key.public_key.point().end())) {
      return std::move(*existing);
    }
  }

  Checkpoint c;
  c.seq = head.seq;
  c.hash = head.hash;
  c.key_label = key.label;
  c.public_key = Bytes(key.public_key.point().begin(), key.public_key.point().end());
  c.time = clock.Now();
  GMPKI_ASSIGN_OR_RETURN(c.signature,
                         session.SignMessage(key_index, AsBytes(crypto::kDefaultSm2Id),
                                             internal::CheckpointMessage(c.seq, c.hash)));

  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db.Begin());
  auto inserted = tx->Exec(
      "INSERT INTO audit_checkpoints (seq, hash, signature, key_label, public_key, time_unix)"
      " VALUES (?, ?, ?, ?, ?, ?)",
      {c.seq, c.hash, c.signature, c.key_label, c.public_key, ToUnixSeconds(c.time)});
  if (!inserted) {
    (void)tx->Rollback();
    if (inserted.error().code() != ErrorCode::kAlreadyExists) return inserted.error();
    // Another node signed the same head meanwhile; one checkpoint per head is enough.
    GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> rtx, db.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(std::optional<Checkpoint> other, LoadCheckpoint(*rtx, c.seq));
    (void)rtx->Rollback();
    if (!other) return inserted.error();
    return std::move(*other);
  }
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return c;
}

}  // namespace gmpki::audit
