// Pushes the feed from the business network to the public network (HI-02) over HTTPS. The
// business side is always the client: the public side never connects inward (LD/T 02.1-2022
// §7.3.1, one-way transfer across the isolation boundary).
//
// PushOnce(), which the business node's timer runs every second:
//   1. the next delta after the acknowledged cursor (an empty heartbeat when nothing changed);
//   2. 200: the cursor moves to the delta's seq;
//      409 conflict with applied_seq >= seq: the receiver already has it (a lost answer), the
//      cursor moves too (at least once delivery, idempotent receiver);
//      problem with need_snapshot: a snapshot is streamed part by part, then the cursor moves
//      to the snapshot's seq;
//      anything else (unreachable, 5xx, refused): an error; the cursor stays, the next call
//      sends the same changes again.
//
// Thread safety: thread-safe; pushes are serialised.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "net/client.h"
#include "services/va_feed/feed_exporter.h"

namespace gmpki::va_feed {

// The request body's media type (the wire format of feed_message.h).
inline constexpr std::string_view kFeedContentType = "application/vnd.gmpki.va-feed";
// The receiver's route (feed_routes.h), relative to its base URL.
inline constexpr std::string_view kFeedMessagesPath = "/api/v1/va-feed/messages";

struct PushResult {
  std::size_t messages = 0;  // messages the receiver accepted in this call
  std::size_t records = 0;   // records in them
  bool snapshot = false;     // a snapshot was sent
  std::int64_t acknowledged_seq = 0;
};

class FeedSender {
 public:
  // `url`: the receiver's messages URL, e.g. https://va-public:8443/api/v1/va-feed/messages.
  // The exporter must outlive the sender.
  FeedSender(FeedExporter& exporter, net::HttpClient client, std::string url);

  // One round as described above. Errors: the client's (kUnavailable, kTimeout, kIoError), or
  // the receiver's refusal with its error code (e.g. kBadSignature when it pins another key).
  Result<PushResult> PushOnce();
  // Sends a full snapshot now (e.g. on an operator's request) and moves the cursor.
  Result<PushResult> PushSnapshot();

 private:
  Result<PushResult> SnapshotLocked();

  FeedExporter& exporter_;
  net::HttpClient client_;
  std::string url_;
  std::mutex mu_;
};

}  // namespace gmpki::va_feed
