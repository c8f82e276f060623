// The public side of the one-way status feed (HI-02; LD/T 02.1-2022 §7.3.1): the second
// verification instance on the public service network. It never connects inward: the business
// side pushes signed messages (POST /api/v1/va-feed/messages, feed_routes.h) and this class
// verifies them against the pinned feed key, refuses replays, old sequences and gaps, applies
// them atomically to its own tables (migrations 800..899) and hands the records to the
// verification service's index through a callback. After a restart LoadAll() rebuilds the index
// from its own database, without the business side.
//
// Acceptance rules (README.md "Sequence rules"), with `applied` the seq the receiver is at:
//   delta     base <= applied <= seq, and seq > applied unless it carries no record (heartbeat);
//             seq <= applied otherwise -> kConflict (replay); base > applied or no state yet ->
//             kFailedPrecondition (gap: the sender must send a snapshot).
//   snapshot  parts 0..last of one (seq, created_ms), in order; part 0 needs seq >= applied and a
//             created_ms later than the applied snapshot's (else kConflict, replay); a part out
//             of order -> kFailedPrecondition. The last part switches to the new state at once.
// Each refused message changes nothing.
//
// Thread safety: thread-safe; Receive calls are serialised.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "services/va/status_record.h"
#include "services/va_feed/feed_message.h"
#include "store/store.h"

namespace gmpki::va_feed {

// Migrations 800..899 are reserved for the feed receiver (the public node's own database).
std::vector<store::Migration> VaFeedMigrations();

using ApplyCallback =
    std::function<void(const std::vector<va::StatusRecord>&, const std::vector<va::IssuerRecord>&)>;

struct ReceiverOptions {
  crypto::Sm2PublicKey trusted_key;  // the pinned feed key (ParseTrustedFeedKey)
  std::string expected_source;       // the business node's name; empty: any
  std::size_t max_records_per_message = 1u << 20;
  std::size_t callback_batch = 50000;  // records per callback when replaying a whole state
};

struct ReceiverState {
  bool has_state = false;        // a snapshot was applied
  std::int64_t applied_seq = 0;  // meaningful when has_state
  std::string source;
  std::int64_t snapshot_created_ms = 0;
  std::int64_t last_message_unix = 0;  // last accepted message (heartbeats included)
  std::int64_t generation = 0;
};

struct ReceiveOutcome {
  MessageKind kind = MessageKind::kDelta;
  std::int64_t applied_seq = 0;   // after this message
  bool snapshot_pending = false;  // a snapshot part was staged, more parts expected
  std::uint32_t next_part = 0;    // when snapshot_pending
  std::size_t records = 0;
};

class FeedReceiver {
 public:
  // REQUIRES: VaFeedMigrations() applied to `db`. `db` and `clock` outlive the receiver.
  FeedReceiver(store::Database& db, ReceiverOptions options, const Clock& clock);

  // Called after a delta is committed with its records, and after a snapshot is committed
  // with the whole new state in batches (after on_reset). Set before messages arrive.
  void SetApplyCallback(ApplyCallback on_apply);
  // Called once before a committed snapshot's state is replayed: the index should drop what it
  // holds. Optional.
  void SetResetCallback(std::function<void()> on_reset);

  // Verifies and applies one wire message. Errors (nothing applied): kMalformedInput,
  // kUnauthenticated (another key), kBadSignature (tampered), kTooLarge, kPermissionDenied
  // (another source than expected), kConflict (replay / old sequence), kFailedPrecondition
  // (gap, no state yet, snapshot part out of order: send a snapshot), kStorageFailure.
  Result<ReceiveOutcome> Receive(std::string_view wire);

  // Replays the applied state to `cb`: first the issuers (with no statuses), then the status
  // records in batches of options.callback_batch. For start-up after a restart.
  Status LoadAll(const ApplyCallback& cb);

  Result<ReceiverState> State();

  // The latest CRL received for a CA (partition nullopt) or one of its partitions, full or
  // delta, as the CA published it (DER), so the public node serves /crl/... identically.
  // kNotFound when none was received.
  Result<Bytes> LatestCrl(const std::string& ca, std::optional<std::int64_t> partition, bool delta);

 private:
  struct StateRow;
  Result<StateRow> LoadState(store::Transaction& tx);
  Result<ReceiveOutcome> ApplyDelta(const FeedMessage& m);
  Result<ReceiveOutcome> ApplySnapshotPart(const FeedMessage& m);
  Status StreamGeneration(std::int64_t gen, const ApplyCallback& cb);

  store::Database& db_;
  ReceiverOptions options_;
  const Clock& clock_;
  std::mutex mu_;
  ApplyCallback on_apply_;
  std::function<void()> on_reset_;
};

}  // namespace gmpki::va_feed
