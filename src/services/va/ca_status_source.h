// Feeds a StatusIndex from the CA's own database (a node that runs the CA and the responder
// on the same database): a streamed bulk load of the `cas` and `certificates` tables, then
// `Poll()` that applies the CA's outbox rows (topics cert.issued {ca, serial} and cert.status
// {ca, serial, status}, src/services/ca/README.md) written since.
//
// The cursor is kept in memory only: the index is rebuilt by LoadAll at every start, and the
// cursor starts at the highest outbox id seen in the same read snapshot as the load, so no
// change between the two is missed (a change applied twice is harmless: Apply is idempotent).
//
// Thread safety: LoadAll and Poll serialise on an internal mutex; the index may be read
// concurrently throughout.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "base/clock.h"
#include "base/result.h"
#include "services/va/status_index.h"
#include "store/store.h"

namespace gmpki::va {

struct LoadStats {
  std::size_t cas = 0;
  std::size_t certificates = 0;
  std::int64_t cursor = 0;  // outbox id the next Poll starts after
};

class CaStatusSource {
 public:
  // Outbox ids are allocated before commit, so on PostgreSQL a row with a higher id can become
  // visible before one with a lower id; Poll stops at a gap in the ids until the row after it
  // is this old (a gap older than that is a rolled-back transaction).
  static constexpr std::chrono::seconds kGapGrace{10};

  // None is owned; all must outlive the source.
  CaStatusSource(store::Database& db, StatusIndex& index, const Clock& clock);

  // Registers every CA that has a certificate and applies every certificate row, in pages of
  // `page_rows` read in one snapshot (keyset pagination on the primary key, so memory stays
  // bounded at 10 million rows).
  Result<LoadStats> LoadAll(std::size_t page_rows = 20000);
  // Applies outbox rows after the cursor (new CAs are picked up too). Returns how many
  // certificate changes were applied. REQUIRES: LoadAll succeeded once.
  Result<std::size_t> Poll();
  std::int64_t cursor() const;

 private:
  // Registers the CAs; with `applied`, also applies the own certificate of each CA new to the
  // index and counts it there.
  Status LoadIssuers(store::Transaction& tx, std::size_t* count, std::size_t* applied);

  store::Database& db_;
  StatusIndex& index_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::int64_t cursor_ = 0;
  std::size_t issuer_count_ = 0;
};

// The StatusRecord of a `certificates` row read as (ca, serial_hex, status, reason,
// revoked_unix, not_after). kInvalidArgument for an unknown status value.
Result<StatusRecord> StatusRecordFromRow(const store::Row& row);

}  // namespace gmpki::va
