// Batch enrolment for third-generation social security cards (HI-06; LD/T 02.1 §7.4.1): card
// personalisation submits batches of certificate requests, one per card holder (the key pair is
// generated on the card, so each item carries a PKCS#10 request), and fetches the certificates
// per batch.
//
// Life of a batch (batch_types.h, BatchState):
//   Create -> Append (NDJSON chunks, streamed: the batch is never held in memory) -> Close ->
//   Approve by a second operator (four-eyes: never the submitter) -> BatchProcessor
//   (batch_processor.h) issues the pending items through the CA gateway -> done.
//
// Item (one NDJSON line):
//   {"request_id": "...", "name": "...", "id_kind": "resident-id", "id_number": "...",
//    "social_security_number": "...", "card_number": "...", "csr": "<base64 DER or PEM>",
//    "profile": optional, "ca": optional}
// - request_id (1..120 of [A-Za-z0-9._:-]) is idempotent across every batch of this RA: an item
//   whose request_id was submitted before is recorded as a duplicate pointing at the original
//   and never issued again. The CA request ID is "batch." + request_id, so the CA, too, issues
//   at most once per item even when a worker dies between the CA's answer and its own commit.
//   A line that fails validation does not claim its request_id (a corrected line may follow).
// - A malformed line, an invalid ID number (GB 11643-1999 check character), a CSR that does
//   not parse or whose CN differs from "name" becomes a failed item with a clear error; the
//   rest of the batch goes on.
// - Personal numbers are stored only encrypted under the PII codec (CC-FPR), with a blind index;
//   failed and duplicate items keep none.
// - More items than BatchSettings::max_items: kTooLarge, and the whole batch is discarded in one
//   transaction (items and request-ID claims removed, batch marked rejected).
//
// Thread safety: thread-safe; every call runs in its own transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "services/core/roles.h"
#include "services/pii/pii.h"
#include "services/ra_batch/batch_types.h"
#include "store/store.h"

namespace gmpki::ra_batch {

// Migrations 500..599 are reserved for batch enrolment. Tables ra_batches, ra_batch_items,
// ra_batch_requests. Needs the audit schema (audit::AuditMigrations) too.
std::vector<store::Migration> BatchMigrations();

struct BatchSettings {
  std::int64_t max_items = 1'000'000;      // per batch; more -> kTooLarge, batch discarded
  std::size_t max_chunk_bytes = 8u << 20;  // per Append; more -> kTooLarge (batch kept)
  std::int64_t max_chunk_lines = 10'000;   // per Append; more -> kTooLarge (batch kept)
  std::string node = "node-1";             // audit records
};

struct CreateBatchRequest {
  std::string ca;       // default CA of the items, required
  std::string profile;  // default profile of the items, required
  std::string label;    // free text for operators, at most 200 characters
};

struct BatchQuery {
  std::optional<BatchState> state;
  int limit = 100;  // 1..1000
  int offset = 0;
};

class BatchService {
 public:
  BatchService(store::Database& db, const pii::PiiCodec& pii, const Clock& clock,
               BatchSettings settings);

  // kSubscriberWrite. A new open batch with a random ID ("b-" + 16 hex digits).
  Result<BatchInfo> Create(const services::Actor& actor, const CreateBatchRequest& request);

  // kSubscriberWrite, submitter only, batch open. Parses `ndjson` (at most max_chunk_lines
  // non-blank lines, max_chunk_bytes bytes) and stages every line as an item in one
  // transaction. `offset`, when given, must be the number of items the batch holds already;
  // the same chunk sent again (offset + items == held) is answered with replayed = true and
  // adds nothing, any other mismatch is kConflict naming the expected offset. Without it the
  // chunk is appended at the end.
  Result<AppendReport> Append(const services::Actor& actor, const std::string& batch_id,
                              std::string_view ndjson, std::optional<std::int64_t> offset = {});

  // kSubscriberWrite, submitter only: open -> closed; no more items.
  Result<BatchInfo> Close(const services::Actor& actor, const std::string& batch_id);
  // kSubscriberReview, never the submitter (four-eyes, kPermissionDenied): closed -> approved
  // (done at once when nothing is pending).
  Result<BatchInfo> Approve(const services::Actor& actor, const std::string& batch_id);
  // kSubscriberReview, never the submitter: closed -> rejected with a reason (1..500 chars).
  // Pending items fail and their request IDs are released for a later batch.
  Result<BatchInfo> Reject(const services::Actor& actor, const std::string& batch_id,
                           const std::string& reason);

  // kSubscriberRead.
  Result<BatchInfo> Get(const services::Actor& actor, const std::string& batch_id);
  Result<std::vector<BatchInfo>> List(const services::Actor& actor, const BatchQuery& query);
  // kCertRequest: items with seq > after, in seq order, at most `limit` (1..10000).
  Result<std::vector<ItemResult>> Results(const services::Actor& actor, const std::string& batch_id,
                                          std::int64_t after, int limit);

  const BatchSettings& settings() const { return settings_; }

 private:
  Result<BatchInfo> Transition(const services::Actor& actor, const std::string& batch_id,
                               const std::string& action, const std::string& reason);
  Status Discard(const services::Actor& actor, const std::string& batch_id,
                 std::int64_t would_hold);

  store::Database& db_;
  const pii::PiiCodec& pii_;
  const Clock& clock_;
  BatchSettings settings_;
};

// The CA request ID of an item: "batch." + request_id (CaGateway allows 128 characters).
std::string GatewayRequestId(std::string_view request_id);
// Checks an item's request ID: 1..120 characters of [A-Za-z0-9._:-].
Status ValidateItemRequestId(std::string_view request_id);

}  // namespace gmpki::ra_batch
