// Keeps the LDAP directory in step with the CA: reads the CA's outbox (topics cert.issued,
// cert.status, crl.issued; src/services/ca/README.md) after the cursor 'directory' in
// ca_outbox_cursors and publishes what changed through an LdapPublisher (CA-03, VA-02).
//
// Delivery is at least once: the cursor moves past an event only after the directory accepted
// it, so a directory that is down makes SyncOnce fail and the next call retry from the same
// event; nothing is lost. Each event publishes the CURRENT state from the database (the
// certificate as stored, the CA's latest CRL of that scope and kind), never the state the event
// describes, so replays, reordering and a FullResync racing with events never put an older CRL
// over a newer one.
//
// The CA's tables are read directly (the CA owns them; this component only reads them and its
// own cursor row). No clock, no threads: the server calls SyncOnce from its timer.
//
// Thread safety: SyncOnce and FullResync may be called from several threads; they serialise on
// an internal mutex. Several nodes may run it against one database and directory (each event is
// idempotent; a cursor never moves backwards).
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "base/result.h"
#include "services/directory/ldap_publisher.h"
#include "store/store.h"

namespace gmpki::directory {

// The consumer name in ca_outbox_cursors. PERSISTENT.
inline constexpr char kOutboxConsumer[] = "directory";

struct SyncCounts {
  std::size_t events = 0;        // outbox rows consumed (the cursor moved past them)
  std::size_t cas = 0;           // CA entries written
  std::size_t certificates = 0;  // certificate entries written
  std::size_t removed = 0;       // certificate entries deleted (RevokedPolicy::kRemove)
  std::size_t crls = 0;          // CRL attributes written
};

class DirectorySync {
 public:
  // `db` holds the CA's tables (CaMigrations applied); `publisher` is not owned. Both must
  // outlive this object.
  DirectorySync(store::Database& db, LdapPublisher& publisher,
                RevokedPolicy policy = RevokedPolicy::kKeep, std::size_t batch = 500);

  // Publishes the events after the cursor, up to `batch` of them, in order, and moves the cursor
  // past the last one published. On the first event the directory refuses, stops there, saves
  // the progress made and returns the error (kUnavailable while slapd is down: call again later).
  Result<SyncCounts> SyncOnce();
  // Publishes everything: every CA with a certificate, its latest full and delta CRLs (whole CA
  // and each partition) and every certificate (per the policy); then moves the cursor to the
  // outbox position read before it began, so events that arrived during the resync are
  // published again by SyncOnce. For a new or restored directory.
  Result<SyncCounts> FullResync();

  // The cursor (last outbox id published); 0 before the first event.
  Result<std::int64_t> Cursor();

 private:
  Status PublishCaFromDb(const std::string& ca, SyncCounts& counts);
  Status EnsureCa(const std::string& ca, SyncCounts& counts);
  Status PublishCertificateFromDb(const std::string& ca, const std::string& serial,
                                  SyncCounts& counts);
  // The latest CRL of `ca` for the scope (whole CA or partition) and kind (full or delta).
  Status PublishLatestCrl(const std::string& ca, std::optional<std::int64_t> partition, bool delta,
                          SyncCounts& counts);
  Status ApplyEvent(const std::string& topic, const std::string& payload, SyncCounts& counts);
  Status SaveCursor(std::int64_t last_id);

  store::Database& db_;
  LdapPublisher& publisher_;
  RevokedPolicy policy_;
  std::size_t batch_;
  std::mutex mu_;
  std::set<std::string> known_cas_;  // CA entries written by this object
};

}  // namespace gmpki::directory
