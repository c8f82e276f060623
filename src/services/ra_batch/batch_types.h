// Plain values of batch enrolment (HI-06), shared by the service, its HTTP routes and the
// uploader client. No dependency beyond base/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::ra_batch {

// PERSISTENT: stored by name in ra_batches.state and seen over HTTP.
//   open -> closed -> approved -> processing -> done
//   open -> rejected (oversized: every staged item is removed)
//   closed -> rejected (by a reviewer)
enum class BatchState { kOpen, kClosed, kApproved, kProcessing, kDone, kRejected };
std::string_view BatchStateName(BatchState s);
Result<BatchState> ParseBatchState(std::string_view name);

// PERSISTENT: stored by name in ra_batch_items.status and seen over HTTP.
//   pending:   valid, waiting for approval and the CA
//   issued:    the CA issued the certificate
//   failed:    malformed line, invalid data, or refused by the CA (error says why)
//   duplicate: its request_id was already submitted (in this or an earlier batch); the result
//              is the original item's
enum class ItemStatus { kPending, kIssued, kFailed, kDuplicate };
std::string_view ItemStatusName(ItemStatus s);
Result<ItemStatus> ParseItemStatus(std::string_view name);

struct BatchCounts {
  std::int64_t total = 0;  // items (non-blank lines) received
  std::int64_t pending = 0;
  std::int64_t issued = 0;
  std::int64_t failed = 0;
  std::int64_t duplicate = 0;
};

struct BatchInfo {
  std::string id;
  std::string label;
  BatchState state = BatchState::kOpen;
  std::string ca;       // default CA of the items
  std::string profile;  // default profile of the items
  std::string submitted_by;
  std::string reviewed_by;  // approver or rejecter; empty before review
  std::string reason;       // why the batch was rejected
  BatchCounts counts;
  std::int64_t created_unix = 0;
  std::optional<std::int64_t> closed_unix, reviewed_unix, done_unix;

  // Share of the items that reached a final status (issued, failed, duplicate), 0..1; 1 for
  // an empty batch.
  double Progress() const;
};

// One line that could not be staged, as reported back to the uploader.
struct LineError {
  std::int64_t seq = 0;    // the item's sequence number in the batch (1-based)
  std::string request_id;  // empty when the line had none
  std::string code;        // error slug (base/error.h)
  std::string message;
};

struct AppendReport {
  std::int64_t first_seq = 0;  // sequence number of the chunk's first item
  std::int64_t items = 0;      // items in the chunk (blank lines are not items)
  std::int64_t accepted = 0;   // staged as pending
  std::int64_t failed = 0;
  std::int64_t duplicate = 0;
  std::int64_t next_offset = 0;   // items in the batch after this chunk: the next chunk's offset
  bool replayed = false;          // the chunk had been received already; nothing was added
  std::vector<LineError> errors;  // the first kMaxReportedErrors failed lines
};
inline constexpr std::size_t kMaxReportedErrors = 20;

// One item's outcome, as fetched per batch.
struct ItemResult {
  std::int64_t seq = 0;
  std::string request_id;
  ItemStatus status = ItemStatus::kPending;
  std::string serial_hex;  // issued (or the original's, for a duplicate)
  Bytes certificate;       // DER
  std::string error_code;  // failed: error slug
  std::string error_message;
  // duplicate: where the original is and what became of it.
  std::string duplicate_of_batch;
  std::int64_t duplicate_of_seq = 0;
  std::optional<ItemStatus> original_status;
};

}  // namespace gmpki::ra_batch
