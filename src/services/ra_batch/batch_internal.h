// Internal to gmpki_ra_batch: staging of NDJSON lines and row <-> value helpers shared by the
// service and the processor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/pii/pii.h"
#include "services/ra_batch/batch_types.h"
#include "store/store.h"

namespace gmpki::ra_batch::internal {

// One line of a chunk after validation, before it is written.
struct StagedItem {
  std::int64_t seq = 0;
  std::string request_id;  // empty when the line had no usable one
  ItemStatus status = ItemStatus::kPending;
  std::string name;
  std::string id_kind;
  Bytes id_enc, ssn_enc;  // PiiCodec::Encrypt output; empty unless pending
  std::string id_index, ssn_index;
  std::string card_number;
  Bytes csr_der;
  std::string ca, profile;  // effective values (the batch defaults filled in)
  std::string dup_batch;
  std::int64_t dup_seq = 0;
  std::string error_code, error_message;
};

// The associated data binding an item's encrypted numbers to it: the request ID is unique
// among stored (pending) items, so a ciphertext cannot be moved to another item.
std::string PiiContext(std::string_view request_id);

// Validates one line and, when valid, encrypts its personal numbers. Never fails: a bad line
// comes back with status kFailed and the error. `line_no` names the line in messages.
StagedItem ParseItemLine(std::string_view line, std::int64_t line_no, const std::string& batch_ca,
                         const std::string& batch_profile, const pii::PiiCodec& pii);

// Splits a chunk into its non-blank lines (a trailing '\r' is dropped).
std::vector<std::string_view> SplitLines(std::string_view chunk);

// Claims the request IDs of the pending items in `items` (seq already assigned) and marks as
// duplicates those claimed before, by an earlier chunk or batch or earlier in this chunk; then
// writes every item with multi-row INSERTs. Runs inside the caller's transaction.
Status StageItems(store::Transaction& tx, const std::string& batch_id,
                  std::vector<StagedItem>& items);

// SELECT list of ra_batches that BatchFromRow reads.
inline constexpr std::string_view kBatchColumns =
    "id, label, state, ca, profile, submitted_by, reviewed_by, reason, total, pending, issued, "
    "failed, duplicate, created_unix, closed_unix, reviewed_unix, done_unix, next_seq";
Result<BatchInfo> BatchFromRow(const store::Row& row);
// The batch, or kNotFound.
Result<BatchInfo> LoadBatch(store::Transaction& tx, const std::string& batch_id);

std::string ErrorSlug(ErrorCode code);

}  // namespace gmpki::ra_batch::internal
