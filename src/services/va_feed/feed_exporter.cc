#include "services/va_feed/feed_exporter.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace gmpki::va_feed {
namespace {

constexpr const char* kStatusColumns = "serial_hex, status, reason, revoked_unix, not_after";

// certificates row (kStatusColumns) -> the record the verification service answers from.
// PERSISTENT mapping of certificates.status ("good", "revoked", "hold"; ca_service.h).
Result<va::StatusRecord> ToStatus(const std::string& ca, const store::Row& r) {
  va::StatusRecord s;
  s.ca = ca;
  s.serial_hex = r.Text(0);
  const std::string& status = r.Text(1);
  if (status == "good") {
    s.state = va::CertState::kGood;
  } else if (status == "revoked") {
    s.state = va::CertState::kRevoked;
  } else if (status == "hold") {
    s.state = va::CertState::kHold;
  } else {
    return Error(ErrorCode::kIntegrityFailure,
                 "certificate " + ca + "/" + s.serial_hex + " has status '" + status + "'");
  }
  // A released certificate keeps reason removeFromCRL in the table (for delta CRLs); for
  // status it is simply good.
  if (s.state != va::CertState::kGood) {
    s.reason = r.IsNull(2) ? 0 : static_cast<int>(r.Int(2));
    s.revoked_unix = r.IsNull(3) ? 0 : r.Int(3);
  }
  s.not_after = r.Int(4);
  return s;
}

std::int64_t NowMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
      .count();
}

}  // namespace

FeedExporter::FeedExporter(store::Database& db, FeedSigner signer, const Clock& clock,
                           ExporterOptions options)
    : db_(db), signer_(std::move(signer)), clock_(clock), options_(std::move(options)) {}

Result<SignedMessage> FeedExporter::Sign(FeedMessage& m) {
  m.header.source = options_.source;
  SignedMessage out;
  out.records = m.issuers.size() + m.statuses.size() + m.crls.size();
  GMPKI_ASSIGN_OR_RETURN(out.wire, EncodeSigned(m, signer_));
  out.header = m.header;
  out.header.key_id = KeyId(signer_.public_key);
  return out;
}

Result<std::int64_t> FeedExporter::Snapshot(const PartSink& sink) {
  // One read-only transaction: the seq and every page come from the same database snapshot.
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto top,
                         tx->QueryOne("SELECT CAST(COALESCE(MAX(id), 0) AS INTEGER) FROM outbox"));
  const std::int64_t seq = top ? top->Int(0) : 0;
  const std::int64_t created = NowMs(clock_);

  FeedMessage part;
  std::size_t bytes = 0;
  auto start = [&](std::uint32_t index) {
    part = FeedMessage{};
    part.header.kind = MessageKind::kSnapshot;
    part.header.seq = seq;
    part.header.created_ms = created;
    part.header.part = index;
    bytes = 0;
  };
  auto flush = [&](bool last) -> Status {
    part.header.last = last;
    std::uint32_t index = part.header.part;
    GMPKI_ASSIGN_OR_RETURN(auto signed_part, Sign(part));
    GMPKI_RETURN_IF_ERROR(sink(signed_part));
    start(index + 1);
    return OkStatus();
  };
  auto room = [&](std::size_t more) {
    return part.statuses.size() < options_.max_part_records &&
           bytes + more <= options_.max_part_bytes;
  };
  start(0);

  GMPKI_ASSIGN_OR_RETURN(auto cas, tx->Query("SELECT name, cert_der FROM cas ORDER BY name"));
  std::vector<std::string> ca_names;
  for (const auto& r : cas) {
    ca_names.push_back(r.Text(0));
    if (r.IsNull(1) || r.Blob(1).empty()) continue;  // pending: no certificate yet
    if (!room(r.Blob(1).size()) && bytes > 0) GMPKI_RETURN_IF_ERROR(flush(false));
    bytes += r.Blob(1).size() + 8;
    part.issuers.push_back(va::IssuerRecord{r.Text(0), r.Blob(1)});
  }
  cas.clear();

  // Keyset pages over the (ca, serial_hex) primary key: memory is one page, whatever the size.
  const auto page = static_cast<std::int64_t>(options_.max_part_records);
  for (const auto& ca : ca_names) {
    std::string after;
    for (;;) {
      GMPKI_ASSIGN_OR_RETURN(auto rows,
                             tx->Query(std::string("SELECT ") + kStatusColumns +
                                           " FROM certificates WHERE ca = ? AND serial_hex > ?"
                                           " ORDER BY serial_hex LIMIT ?",
                                       {ca, after, page}));
      for (const auto& r : rows) {
        GMPKI_ASSIGN_OR_RETURN(auto s, ToStatus(ca, r));
        std::size_t size = EstimatedSize(s);
        if (!room(size)) GMPKI_RETURN_IF_ERROR(flush(false));
        bytes += size;
        part.statuses.push_back(std::move(s));
      }
      if (rows.size() < static_cast<std::size_t>(page)) break;
      after = rows.back().Text(0);
    }
  }

  // The latest CRL of every scope: (CA, partition or whole CA, full or delta).
  GMPKI_ASSIGN_OR_RETURN(
      auto scopes,
      tx->Query("SELECT ca, CAST(COALESCE(crl_partition, -1) AS INTEGER),"
                " CAST(CASE WHEN delta_base IS NULL THEN 0 ELSE 1 END AS INTEGER),"
                " CAST(MAX(number) AS INTEGER) FROM crls GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"));
  for (const auto& s : scopes) {
    GMPKI_ASSIGN_OR_RETURN(
        auto row, tx->QueryOne("SELECT der, delta_base FROM crls WHERE ca = ? AND number = ?",
                               {s.Text(0), s.Int(3)}));
    if (!row) continue;
    CrlRecord c;
    c.ca = s.Text(0);
    c.partition = s.Int(1);
    c.delta = s.Int(2) != 0;
    c.number = static_cast<std::uint64_t>(s.Int(3));
    c.delta_base = row->IsNull(1) ? 0 : static_cast<std::uint64_t>(row->Int(1));
    c.der = row->Blob(0);
    if (!room(c.der.size()) && (bytes > 0 || !part.statuses.empty()))
      GMPKI_RETURN_IF_ERROR(flush(false));
    bytes += c.der.size() + 32;
    part.crls.push_back(std::move(c));
  }
  GMPKI_RETURN_IF_ERROR(flush(true));
  return seq;
}

Result<SignedMessage> FeedExporter::NextDelta() {
  GMPKI_ASSIGN_OR_RETURN(const std::int64_t cursor, AcknowledgedSeq());
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(
      auto rows, tx->Query("SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                           {cursor, static_cast<std::int64_t>(options_.max_delta_rows)}));
  FeedMessage m;
  m.header.kind = MessageKind::kDelta;
  m.header.base = cursor;
  m.header.seq = cursor;
  m.header.created_ms = NowMs(clock_);
  std::map<std::pair<std::string, std::string>, std::size_t> seen;  // (ca, serial) -> index
  std::set<std::string> cas;
  std::size_t bytes = 0;
  for (const auto& r : rows) {
    if (bytes >= options_.max_part_bytes) break;  // the rest goes in the next delta
    m.header.seq = r.Int(0);
    const std::string& topic = r.Text(1);
    auto p = nlohmann::json::parse(r.Text(2), nullptr, false);
    if (!p.is_object() || !p.contains("ca") || !p["ca"].is_string()) continue;
    std::string ca = p["ca"].get<std::string>();
    if (topic == "cert.issued" || topic == "cert.status") {
      if (!p.contains("serial") || !p["serial"].is_string()) continue;
      std::string serial = p["serial"].get<std::string>();
      GMPKI_ASSIGN_OR_RETURN(auto row,
                             tx->QueryOne(std::string("SELECT ") + kStatusColumns +
                                              " FROM certificates WHERE ca = ? AND serial_hex = ?",
                                          {ca, serial}));
      if (!row) continue;
      GMPKI_ASSIGN_OR_RETURN(auto s, ToStatus(ca, *row));
      // The row's current state, once per certificate: later outbox rows of the same
      // certificate within this delta read the same current state.
      auto key = std::make_pair(ca, serial);
      if (seen.count(key)) continue;
      seen.emplace(key, m.statuses.size());
      bytes += EstimatedSize(s);
      m.statuses.push_back(std::move(s));
      cas.insert(ca);
    } else if (topic == "crl.issued") {
      if (!p.contains("number") || !p["number"].is_number_integer()) continue;
      GMPKI_ASSIGN_OR_RETURN(auto row,
                             tx->QueryOne("SELECT der, delta_base, crl_partition FROM crls"
                                          " WHERE ca = ? AND number = ?",
                                          {ca, p["number"].get<std::int64_t>()}));
      if (!row) continue;
      CrlRecord c;
      c.ca = ca;
      c.number = static_cast<std::uint64_t>(p["number"].get<std::int64_t>());
      c.delta = !row->IsNull(1);
      c.delta_base = row->IsNull(1) ? 0 : static_cast<std::uint64_t>(row->Int(1));
      c.partition = row->IsNull(2) ? -1 : row->Int(2);
      c.der = row->Blob(0);
      bytes += c.der.size() + 32;
      m.crls.push_back(std::move(c));
      cas.insert(ca);
    }
    // Other topics carry nothing the verification service answers from; skipped, and the
    // cursor moves past them.
  }
  for (const auto& ca : cas) {
    GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne("SELECT cert_der FROM cas WHERE name = ?", {ca}));
    if (row && !row->IsNull(0) && !row->Blob(0).empty())
      m.issuers.push_back(va::IssuerRecord{ca, row->Blob(0)});
  }
  return Sign(m);
}

Status FeedExporter::Acknowledge(std::int64_t seq) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  GMPKI_RETURN_IF_ERROR(
      tx->Exec("INSERT INTO ca_outbox_cursors (consumer, last_id) VALUES (?, ?) "
               "ON CONFLICT (consumer) DO UPDATE SET last_id = excluded.last_id "
               "WHERE ca_outbox_cursors.last_id < excluded.last_id",
               {std::string(kCursorName), seq}));
  return tx->Commit();
}

Result<std::int64_t> FeedExporter::AcknowledgedSeq() {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto c,
                         tx->QueryOne("SELECT last_id FROM ca_outbox_cursors WHERE consumer = ?",
                                      {std::string(kCursorName)}));
  return c ? c->Int(0) : std::int64_t{0};
}

}  // namespace gmpki::va_feed
