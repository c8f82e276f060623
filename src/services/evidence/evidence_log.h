// The accountability evidence log (AS-06, CC-FCO): every signing, verification, sealing,
// authentication, key-use and time-stamping decision is appended as a leaf of a Merkle tree
// in the style of RFC 9162 (Certificate Transparency 2.0), with SM3 as the hash. Tree heads
// are SM2-signed by a log key held in the crypto device; inclusion proofs show a record is in
// a signed tree, consistency proofs that a later tree extends an earlier one; a record bundle
// (tree_head.h) is checked offline by a relying party.
//
// Storage (migrations 900..999, EvidenceMigrations()): evidence_records (leaf index, canonical
// record bytes, leaf hash, and kind/time/actor/object copies for SQL review), evidence_nodes
// (the hash of every complete subtree of 2^k leaves, k >= 1, keyed (level, idx)), evidence_head
// (the tree size) and evidence_sths (signed tree heads). Proofs read O(log n) stored nodes.
//
// Appending is batched (group commit): concurrent Append calls share one transaction and one
// durable commit; one of the waiting callers runs each batch (no background thread). A batch
// takes the head row first (`UPDATE evidence_head ... RETURNING`), which serialises appenders of
// several nodes on PostgreSQL; a node whose cached tree edge is stale reloads it under that lock.
//
// Thread safety: EvidenceLog is thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "device/device.h"
#include "services/evidence/merkle.h"
#include "services/evidence/record.h"
#include "services/evidence/tree_head.h"
#include "store/store.h"

namespace gmpki::evidence {

// Schema of the evidence log; versions 900..999 are reserved for it. PERSISTENT: released
// migrations are never edited.
std::vector<store::Migration> EvidenceMigrations();

struct EvidenceLogOptions {
  std::string key_label = "evidence-log";  // the log's SM2 signing key in the device
  Bytes log_certificate;                   // DER certificate of the log key, put in bundles
  std::size_t max_batch = 4096;            // records per transaction, >= 1
};

// What Audit() found. ok, or the first leaf where the log goes wrong.
struct AuditReport {
  bool ok = false;
  std::uint64_t tree_size = 0;         // from evidence_head
  std::uint64_t leaves_checked = 0;
  std::uint64_t nodes_checked = 0;
  std::uint64_t tree_heads_checked = 0;
  std::uint64_t latest_signed_size = 0;  // 0 when no tree head is signed
  std::uint64_t unsigned_tail = 0;       // leaves after the latest signed head; not an error
  std::uint64_t first_bad_index = 0;     // when !ok: the lowest leaf index concerned
  std::string message;                   // when !ok: what is wrong there
  // OkStatus() when ok, else kIntegrityFailure "evidence log leaf N: message".
  Status ToStatus() const;
};

class EvidenceLog {
 public:
  // Opens the log over a migrated database. The key `options.key_label` must exist in
  // `device` with purpose kSign (kNotFound / kInvalidArgument otherwise). `db`, `device` and
  // `clock` must outlive the log.
  static Result<std::unique_ptr<EvidenceLog>> Open(store::Database& db,
                                                   device::CryptoDevice& device,
                                                   const Clock& clock,
                                                   EvidenceLogOptions options = {});
  ~EvidenceLog();

  // Appends one record and returns its leaf index (0, 1, 2, ...) once the record is durable.
  // Concurrent callers are committed together (one transaction per batch). The record is
  // validated first (kInvalidArgument / kTooLarge, nothing written); a storage failure fails
  // every record of that batch (kStorageFailure, kUnavailable, kConflict: retry).
  Result<std::uint64_t> Append(EvidenceRecord record);
  // Appends records in order as consecutive leaves (one validation for all, then one batch);
  // returns the first leaf index. An empty span is kInvalidArgument.
  Result<std::uint64_t> AppendAll(std::span<const EvidenceRecord> records);

  // Queues the record and returns at once (after validation: kInvalidArgument / kTooLarge);
  // a log-owned flusher thread, started on first use, commits it in the next batch and then
  // calls `done` (may be empty) with the leaf index or the batch's error, on the flusher's or
  // another appender's thread. `done` must be quick and must not call into this log (it runs
  // while its batch still holds the writer role). For callers that must not wait for the
  // commit (SVS, TSA at tens of thousands of decisions/s): an acknowledged request may then
  // lose its record in a crash before the commit, which Flush() bounds.
  Status AppendAsync(EvidenceRecord record,
                     std::function<void(Result<std::uint64_t>)> done = nullptr);
  // Waits until every record queued before the call has been committed (or has failed) and
  // its `done` has returned.
  void Flush();

  // The committed tree size.
  Result<std::uint64_t> Size();

  // Signs the current tree head with the log key and stores it. When the latest stored head
  // already covers the current size it is returned unchanged (an idle log adds nothing), so
  // a server calls this on a timer (e.g. every second) and the CLI after each command.
  Result<SignedTreeHead> SignTreeHead();
  // The latest stored tree head; kNotFound when none was signed.
  Result<SignedTreeHead> LatestTreeHead();

  // RFC 9162 §2.1.3 inclusion proof of leaf `index` in the tree of `tree_size` (<= Size()).
  Result<std::vector<NodeHash>> InclusionProof(std::uint64_t index, std::uint64_t tree_size);
  // RFC 9162 §2.1.4 consistency proof between two committed tree sizes.
  Result<std::vector<NodeHash>> ConsistencyProof(std::uint64_t old_size, std::uint64_t new_size);
  // MTH of the first `tree_size` leaves.
  Result<NodeHash> RootAt(std::uint64_t tree_size);
  // The stored record at `index`; kNotFound beyond the tree.
  Result<EvidenceRecord> GetRecord(std::uint64_t index);

  // A self-contained bundle (tree_head.h) for leaf `index`, against the latest signed tree head
  // that covers it; kFailedPrecondition when no signed head covers it yet (call SignTreeHead).
  Result<EvidenceBundle> ExportRecordBundle(std::uint64_t index);
  Result<std::string> ExportRecordBundleJson(std::uint64_t index);

  // Recomputes every leaf hash from the stored record bytes, every stored node and every
  // signed tree head's root and signature; detects changed, deleted, inserted and reordered
  // records and changed nodes and heads. Reads one consistent snapshot in chunks. The Result
  // fails only when the log cannot be read (kStorageFailure).
  Result<AuditReport> Audit();

  const crypto::Sm2PublicKey& log_public_key() const { return log_key_; }

  // For tests and metrics: batches committed and records committed by this instance.
  std::uint64_t batches() const;
  std::uint64_t records() const;

 private:
  struct Prepared {
    Bytes entry;
    NodeHash leaf_hash{};
    EvidenceRecord record;
  };
  struct Pending {
    std::vector<Prepared> records;
    std::function<void(Result<std::uint64_t>)> callback;  // AppendAsync's `done`
    // Wakes the one waiting Append caller (not every waiter) when its batch is done or it may
    // lead the next one.
    std::condition_variable cv;
    bool done = false;
    Result<std::uint64_t> first = Error(ErrorCode::kInternal, "not run");
  };

  EvidenceLog(store::Database& db, device::CryptoDevice& device, const Clock& clock,
              EvidenceLogOptions options, std::uint32_t key_index, crypto::Sm2PublicKey key);
  Result<std::vector<Prepared>> Prepare(std::span<const EvidenceRecord> records);
  Result<std::uint64_t> Submit(std::vector<Prepared> records);
  // Takes a batch off the queue and runs it as the leader. REQUIRES: `lock` holds mu_,
  // !leader_active_, the queue is not empty. Returns with `lock` held.
  void LeadOneBatch(std::unique_lock<std::mutex>& lock);
  void FlusherLoop();
  void RunBatch(std::vector<std::shared_ptr<Pending>>& batch);
  Result<std::uint64_t> WriteBatch(store::Transaction& tx,
                                   const std::vector<std::shared_ptr<Pending>>& batch,
                                   std::optional<MerkleFrontier>* frontier);

  store::Database& db_;
  device::CryptoDevice& device_;
  const Clock& clock_;
  const EvidenceLogOptions options_;
  const std::uint32_t key_index_;
  const crypto::Sm2PublicKey log_key_;

  mutable std::mutex mu_;
  std::condition_variable flusher_cv_;  // the flusher: work queued or stopping
  std::condition_variable flush_cv_;    // Flush() callers: a batch completed
  std::deque<std::shared_ptr<Pending>> queue_;
  bool leader_active_ = false;
  std::uint64_t enqueued_ = 0, completed_ = 0;  // items, in queue order
  bool stopping_ = false;
  std::thread flusher_;  // started by the first AppendAsync
  // The tree edge as of the last batch this instance committed; only the leader touches it.
  std::optional<MerkleFrontier> frontier_;
  std::uint64_t batches_ = 0, records_ = 0;
  std::mutex sign_mu_;  // one SignTreeHead at a time per instance
};

}  // namespace gmpki::evidence
