// The public node's feed routes (HI-02). The caller is authenticated by the message itself:
// each message is SM2-signed by the business side's pinned feed key (feed_message.h), so a
// TLS client certificate is optional for these routes.
//   POST /api/v1/va-feed/messages  body: one feed message (application/vnd.gmpki.va-feed)
//        200 {"applied_seq", "kind", "records", "snapshot_pending", "next_part"}
//        problem+json otherwise, with the extension members "applied_seq" (null before the
//        first snapshot) and "need_snapshot" (true for a gap, no state, a part out of order):
//        400 malformed-input / bad-signature, 401 unauthenticated (another key),
//        403 permission-denied (another source), 409 conflict (replay, old sequence),
//        409 failed-precondition (need a snapshot), 413 too-large.
//   GET  /api/v1/va-feed/state     {"has_state", "applied_seq", "source", "generation",
//        "snapshot_created_ms", "last_message_unix"} (freshness for monitoring)
#pragma once

#include "net/router.h"
#include "services/va_feed/feed_receiver.h"

namespace gmpki::va_feed {

// `receiver` must outlive the router's server.
Status AddFeedReceiverRoutes(net::Router& router, FeedReceiver& receiver);

}  // namespace gmpki::va_feed
