// The business side of the one-way status feed (HI-02): reads the CA's own tables (same
// database as the CA service: cas, certificates, crls, outbox, ca_outbox_cursors) and produces
// signed feed messages. No I/O of its own beyond the database; the FeedSender carries them.
//
// Sequence numbers are outbox ids: a snapshot's seq is the highest outbox id it reflects, a
// delta covers the outbox rows (base, seq]. The consumer cursor 'va-feed' in
// ca_outbox_cursors is the seq the receiver acknowledged; it moves only on Acknowledge(), so a
// failed push or a killed process re-sends (at least once; the receiver is idempotent).
//
// Thread safety: thread-safe (each call uses its own transaction); the sender calls it from
// one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/clock.h"
#include "services/va_feed/feed_message.h"
#include "store/store.h"

namespace gmpki::va_feed {

// The outbox consumer name (ca_outbox_cursors.consumer). PERSISTENT.
inline constexpr std::string_view kCursorName = "va-feed";

struct ExporterOptions {
  std::string source = "node-1";  // this business node's name, carried in every header
  // A snapshot is cut into parts of at most this many status records or about this many
  // bytes (a single CRL larger than the byte budget travels alone in its part). Keep the byte
  // budget under the public server's request body limit.
  std::size_t max_part_records = 30000;
  std::size_t max_part_bytes = 768 * 1024;
  // Outbox rows read per delta (a delta also stops early at max_part_bytes).
  std::size_t max_delta_rows = 5000;
};

// A message ready to send.
struct SignedMessage {
  FeedHeader header;
  std::size_t records = 0;  // issuers + statuses + CRLs
  std::string wire;
};

class FeedExporter {
 public:
  // REQUIRES: the CA migrations (ca::CaMigrations) are applied to `db`. `db`, `clock` outlive it.
  FeedExporter(store::Database& db, FeedSigner signer, const Clock& clock, ExporterOptions options);

  using PartSink = std::function<Status(const SignedMessage& part)>;
  // A snapshot of every CA certificate, every certificate's status and the latest CRL of each
  // scope (CA or partition, full and delta), read in one consistent read-only transaction and
  // streamed page by page: parts are signed and handed to `sink` in order (part 0 .. last)
  // while later pages are still unread. Stops at the first error of `sink` and returns it.
  // Returns the snapshot's seq. Does not move the cursor (call Acknowledge once delivered).
  Result<std::int64_t> Snapshot(const PartSink& sink);

  // The changes after the acknowledged cursor: for each outbox row (cert.issued, cert.status,
  // crl.issued) the certificate's current status record or the CRL, plus the issuer record of
  // every CA they name. With nothing new, an empty delta with seq == base (a heartbeat that
  // tells the sender whether the receiver is still in step).
  Result<SignedMessage> NextDelta();

  // Records that the receiver holds everything up to `seq`; never moves the cursor back.
  Status Acknowledge(std::int64_t seq);
  Result<std::int64_t> AcknowledgedSeq();

 private:
  Result<SignedMessage> Sign(FeedMessage& m);

  store::Database& db_;
  FeedSigner signer_;
  const Clock& clock_;
  ExporterOptions options_;
};

}  // namespace gmpki::va_feed
