// The security audit log (CC-FAU): every security-relevant event is recorded with who (actor,
// role), what (action, object), when (time), where (node) and the outcome, in a hash chain
// that makes any change, removal, reordering or truncation of stored records detectable, with
// periodic checkpoints signed by an audit key held in the crypto device.
//
// Chain (PERSISTENT: changing it invalidates every stored log):
//   record n:  hash_n = SM3(prev_hash || encoding of record n), prev_hash = hash_{n-1},
//              prev_hash of record 1 = 32 zero bytes (genesis).
//   encoding:  "gmpki-audit-record-v1" || u64be(seq) || i64be(time_unix) || u8(outcome)
//              || lp(actor) || lp(role) || lp(action) || lp(object) || lp(detail) || lp(node)
//              where lp(s) = u32be(byte length of s) || s. Times are whole Unix seconds.
//   checkpoint: SM2 signature (GM/T 0009 default ID "1234567812345678") over
//              "gmpki-audit-checkpoint-v1" || u64be(seq) || hash_seq.
//
// What the chain does and does not prove: a record changed, removed, inserted or moved inside
// the log breaks the chain; a tail cut off after the head row was also rewound is detectable
// only up to the last signed checkpoint. VerifyAudit therefore reports the number of records
// after the last checkpoint ("unsigned tail"); servers sign checkpoints periodically to keep
// it short.
//
// Secrets and personal data: the free-text fields (actor, object, detail, ...) are stored in
// clear and shown to auditors. Never put a secret (key, PIN, password, token, OTP) in them.
// Pass personal ID numbers through MaskIdentifier() (base/log.h) first: "110*************77".
//
// Thread safety: the functions are thread-safe when each thread uses its own Transaction and
// Session (as store.h and device.h require); appends from many threads and nodes serialise on
// the single audit_head row.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "device/device.h"
#include "store/store.h"

namespace gmpki::audit {

// PERSISTENT: stored in audit_records.outcome and hashed into the chain. Never renumber.
enum class Outcome : std::uint8_t {
  kSuccess = 1,
  kFailure = 2,
};

// Bounds on field sizes (bytes); larger fields are rejected with kTooLarge so a record can
// never grow without limit. Generous enough for a certificate subject DN in `object`.
inline constexpr std::size_t kMaxShortFieldSize = 256;    // actor, role, action, node
inline constexpr std::size_t kMaxObjectSize = 4096;       // object
inline constexpr std::size_t kMaxDetailSize = 64 * 1024;  // detail

struct AuditEvent {
  std::string actor;   // who: user name, certificate subject, "system"; REQUIRED non-empty
  std::string role;    // the role the actor acted in (e.g. "ca-operator"); may be empty
  std::string action;  // what: e.g. "cert.issue", "login"; REQUIRED non-empty
  std::string object;  // on what: e.g. "cert:5F3A..." or "user:alice"; may be empty
  Outcome outcome = Outcome::kSuccess;
  std::string detail;  // JSON text (an object or any JSON value), or empty; never secrets
  TimePoint time;      // when; stored to the whole second
  std::string node;    // which server node / host wrote the record; may be empty
};

struct AuditRecord {
  std::int64_t seq = 0;  // 1, 2, 3, ... without gaps
  AuditEvent event;
  Bytes prev_hash;  // 32 bytes
  Bytes hash;       // 32 bytes
};

struct Checkpoint {
  std::int64_t seq = 0;   // the head the signature covers (0 = empty log)
  Bytes hash;             // hash of record `seq` (32 zero bytes when seq == 0)
  Bytes signature;        // DER SM2Signature
  std::string key_label;  // label of the device key that signed
  Bytes public_key;       // 65-byte uncompressed point of that key
  TimePoint time;
};

// Schema of the audit log. Versions 100..199 are reserved for audit. PERSISTENT: released
// migrations are never edited. Tables: audit_records, audit_head (one row, id = 1),
// audit_checkpoints.
std::vector<store::Migration> AuditMigrations();

// Appends `e` to the chain inside the caller's transaction `tx`, so the record commits or
// rolls back together with the operation it records: there is never a record without its
// operation, nor (if the caller follows the rule below) an operation without its record.
//
// RULE for callers: if AppendAudit fails, the caller MUST NOT commit; it rolls `tx` back and
// the operation does not happen (CC-FAU: "if an audit record cannot be written, the operation
// does not happen"). RunAudited() below packages this rule.
//
// Locking: the first statement is `UPDATE audit_head ...`, which takes the row lock on
// PostgreSQL (held until the caller commits, so appends from all nodes serialise; keep audited
// transactions short) and which SQLite already serialises through BEGIN IMMEDIATE. Under
// SERIALIZABLE isolation on PostgreSQL a concurrent append makes this fail with
// kAuditFailure (serialisation conflict); such callers retry the whole transaction.
//
// Errors: kInvalidArgument (empty actor or action, detail not JSON), kTooLarge (field bounds
// above), kAuditFailure (the record could not be written; the message names the cause).
Status AppendAudit(store::Transaction& tx, const AuditEvent& e);

// Records a refused or failed operation: `e` with outcome kFailure and {"error": "<slug>",
// "message": "..."} merged into its detail, in a transaction of its own (the operation itself
// changed nothing). kAuditFailure when the record cannot be written.
Status RecordRefusal(store::Database& db, AuditEvent e, const Error& why);

// Convenience for the rule above: begins a transaction, runs `op`, appends `e` (with outcome
// kSuccess) and commits. If `op` fails, its transaction is rolled back and `e` is recorded
// with outcome kFailure and {"error": "<slug>"} merged into the detail, in a transaction of its
// own, and op's error is returned (kAuditFailure instead if that record cannot be written). If
// the success record cannot be written, everything is rolled back and kAuditFailure is
// returned: the operation did not happen. `e` is validated before `op` runs.
Status RunAudited(store::Database& db, const AuditEvent& e,
                  const std::function<Status(store::Transaction&)>& op);

// Signs the current head with the device key `key_index` (purpose kSign) and stores the
// checkpoint. If a checkpoint for the current head already exists it is returned unchanged
// (so periodic calls on an idle log add nothing). Called periodically by the server and after
// each CLI command. Errors: kDeviceFailure / kNotFound from the device, kStorageFailure.
Result<Checkpoint> SignCheckpoint(store::Database& db, device::Session& session,
                                  std::uint32_t key_index, const Clock& clock);

struct VerifyReport {
  bool ok = false;
  std::int64_t records_checked = 0;
  std::int64_t checkpoints_checked = 0;
  std::int64_t head_seq = 0;             // seq recorded in audit_head
  std::int64_t last_checkpoint_seq = 0;  // 0 when there is none
  std::int64_t unsigned_tail = 0;        // records after the last checkpoint; not an error
  std::int64_t first_failing_seq = 0;    // when !ok: the seq where the log first goes wrong
  std::string message;                   // when !ok: what is wrong there, e.g. "record modified"

  // OkStatus() when ok, else kIntegrityFailure "audit log seq N: message".
  Status ToStatus() const;
};

// Walks every record in seq order and every checkpoint; detects a changed record (hash
// mismatch), a removed record (gap in seq or prev_hash mismatch), reordered records, records
// beyond the head, a head that does not match the last record (truncated tail), and checkpoints
// that are not signed by `audit_key`, whose signature does not verify, or whose hash differs
// from the record hash at their seq. Reads one consistent snapshot.
//
// Returns the report whether or not the log is intact (report.ok; report.ToStatus() gives
// kIntegrityFailure for callers that want an error). The Result fails only when the log cannot
// be read at all (kStorageFailure).
Result<VerifyReport> VerifyAudit(store::Database& db, const crypto::Sm2PublicKey& audit_key);

struct AuditQuery {
  std::optional<std::string> actor;          // exact match
  std::optional<std::string> action;         // exact match
  std::optional<std::string> object_prefix;  // object starts with this (case-sensitive)
  std::optional<Outcome> outcome;
  std::optional<TimePoint> from;  // time >= from (inclusive)
  std::optional<TimePoint> to;    // time < to (exclusive)
  std::int64_t limit = 100;       // 1..10000
  std::int64_t offset = 0;        // >= 0
  bool newest_first = false;      // order by seq descending
};

// Review and search (CC-FAU: the audit trail is reviewable and searchable). Reviewers use a
// Database::BeginReadOnly() transaction, which never holds up audited operations. kInvalidArgument
// for limit/offset out of range; kStorageFailure when the query fails.
Result<std::vector<AuditRecord>> SearchAudit(store::Transaction& tx, const AuditQuery& q);

}  // namespace gmpki::audit
