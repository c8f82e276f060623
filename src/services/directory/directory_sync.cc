#include "services/directory/directory_sync.h"

#include <nlohmann/json.hpp>

#include "x509/certificate.h"

namespace gmpki::directory {

DirectorySync::DirectorySync(store::Database& db, LdapPublisher& publisher, RevokedPolicy policy,
                             std::size_t batch)
    : db_(db), publisher_(publisher), policy_(policy), batch_(batch == 0 ? 1 : batch) {}

Result<std::int64_t> DirectorySync::Cursor() {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row,
                         tx->QueryOne("SELECT last_id FROM ca_outbox_cursors WHERE consumer = ?",
                                      {std::string(kOutboxConsumer)}));
  return row ? row->Int(0) : std::int64_t{0};
}

Status DirectorySync::SaveCursor(std::int64_t last_id) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  // Never backwards: another node may have moved it further meanwhile.
  GMPKI_RETURN_IF_ERROR(
      tx->Exec("INSERT INTO ca_outbox_cursors (consumer, last_id) VALUES (?, ?) "
               "ON CONFLICT (consumer) DO UPDATE SET last_id = excluded.last_id "
               "WHERE ca_outbox_cursors.last_id < excluded.last_id",
               {std::string(kOutboxConsumer), last_id}));
  return tx->Commit();
}

Status DirectorySync::PublishCaFromDb(const std::string& ca, SyncCounts& counts) {
  std::optional<store::Row> row;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(row,
                           tx->QueryOne("SELECT cert_der, subject FROM cas WHERE name = ?", {ca}));
  }
  if (!row) return Error(ErrorCode::kNotFound, "no CA named '" + ca + "'");
  // A CA waiting for its certificate from an external root has nothing to publish yet.
  if (row->IsNull(0)) return OkStatus();
  GMPKI_RETURN_IF_ERROR(publisher_.PublishCa(ca, row->Blob(0), row->Text(1)));
  ++counts.cas;
  known_cas_.insert(ca);
  return OkStatus();
}

Status DirectorySync::EnsureCa(const std::string& ca, SyncCounts& counts) {
  if (known_cas_.count(ca)) return OkStatus();
  return PublishCaFromDb(ca, counts);
}

Status DirectorySync::PublishCertificateFromDb(const std::string& ca, const std::string& serial,
                                               SyncCounts& counts) {
  std::optional<store::Row> row;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(row,
                           tx->QueryOne("SELECT status, der FROM certificates WHERE ca = ? AND "
                                        "serial_hex = ?",
                                        {ca, serial}));
  }
  if (!row) return Error(ErrorCode::kNotFound, "no certificate " + ca + "/" + serial);
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(row->Blob(1)));
  // A subordinate CA's certificate is also a row of its issuer's certificates; it is published
  // as cACertificate on the CA's own entry, not as a user entry, and stays there when revoked
  // (the issuer's CRL says so).
  if (cert.is_ca()) return OkStatus();
  if (policy_ == RevokedPolicy::kRemove && row->Text(0) != "good") {
    GMPKI_RETURN_IF_ERROR(publisher_.RemoveCertificate(ca, serial));
    ++counts.removed;
    return OkStatus();
  }
  std::string cn = cert.subject().Get("CN").value_or("");
  std::string subject = cert.subject().ToRfc4514();
  GMPKI_RETURN_IF_ERROR(EnsureCa(ca, counts));
  Status st = publisher_.PublishCertificate(ca, serial, subject, cn, row->Blob(1));
  if (!st.ok() && st.error().code() == ErrorCode::kNotFound) {
    // The CA entry vanished from the directory (restored from an old backup): put it back.
    known_cas_.erase(ca);
    GMPKI_RETURN_IF_ERROR(PublishCaFromDb(ca, counts));
    st = publisher_.PublishCertificate(ca, serial, subject, cn, row->Blob(1));
  }
  GMPKI_RETURN_IF_ERROR(st);
  ++counts.certificates;
  return OkStatus();
}

Status DirectorySync::PublishLatestCrl(const std::string& ca, std::optional<std::int64_t> partition,
                                       bool delta, SyncCounts& counts) {
  std::optional<store::Row> row;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    std::string sql = std::string("SELECT der FROM crls WHERE ca = ? AND ") +
                      (delta ? "delta_base IS NOT NULL" : "delta_base IS NULL") + " AND " +
                      (partition ? "crl_partition = ?" : "crl_partition IS NULL") +
                      " ORDER BY number DESC LIMIT 1";
    std::vector<store::Value> params = {ca};
    if (partition) params.emplace_back(*partition);
    GMPKI_ASSIGN_OR_RETURN(row, tx->QueryOne(sql, params));
  }
  if (!row) return OkStatus();
  GMPKI_RETURN_IF_ERROR(EnsureCa(ca, counts));
  Status st = publisher_.PublishCrl(ca, partition, delta, row->Blob(0));
  if (!st.ok() && st.error().code() == ErrorCode::kNotFound) {
    known_cas_.erase(ca);
    GMPKI_RETURN_IF_ERROR(PublishCaFromDb(ca, counts));
    st = publisher_.PublishCrl(ca, partition, delta, row->Blob(0));
  }
  GMPKI_RETURN_IF_ERROR(st);
  ++counts.crls;
  return OkStatus();
}

Status DirectorySync::ApplyEvent(const std::string& topic, const std::string& payload,
                                 SyncCounts& counts) {
  auto p = nlohmann::json::parse(payload, nullptr, false);
  // A malformed row can never be published; skipping it keeps the queue moving (the CA wrote it,
  // so this would be a bug there, not a transient failure).
  if (!p.is_object() || !p.contains("ca") || !p["ca"].is_string()) return OkStatus();
  std::string ca = p["ca"].get<std::string>();
  if (topic == "cert.issued" || topic == "cert.status") {
    if (!p.contains("serial") || !p["serial"].is_string()) return OkStatus();
    return PublishCertificateFromDb(ca, p["serial"].get<std::string>(), counts);
  }
  if (topic == "crl.issued") {
    if (!p.contains("number") || !p["number"].is_number_integer()) return OkStatus();
    std::optional<store::Row> row;
    {
      GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
      GMPKI_ASSIGN_OR_RETURN(row, tx->QueryOne("SELECT delta_base, crl_partition FROM crls WHERE "
                                               "ca = ? AND number = ?",
                                               {ca, p["number"].get<std::int64_t>()}));
    }
    if (!row) return OkStatus();
    std::optional<std::int64_t> partition;
    if (!row->IsNull(1)) partition = row->Int(1);
    return PublishLatestCrl(ca, partition, !row->IsNull(0), counts);
  }
  return OkStatus();  // topics for other consumers
}

Result<SyncCounts> DirectorySync::SyncOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  GMPKI_ASSIGN_OR_RETURN(std::int64_t cursor, Cursor());
  std::vector<store::Row> rows;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(rows, tx->Query("SELECT id, topic, payload FROM outbox WHERE id > ? "
                                           "ORDER BY id LIMIT ?",
                                           {cursor, static_cast<std::int64_t>(batch_)}));
  }
  SyncCounts counts;
  // CA creation and import write no outbox row: publish any CA with a certificate that this
  // object has not written yet (all of them once after a restart; a handful of rows).
  std::vector<store::Row> cas;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(cas, tx->Query("SELECT name FROM cas WHERE cert_der IS NOT NULL "
                                          "ORDER BY depth, name"));
  }
  for (const auto& c : cas) GMPKI_RETURN_IF_ERROR(EnsureCa(c.Text(0), counts));
  std::int64_t last = cursor;
  Status failure = OkStatus();
  for (const auto& r : rows) {
    Status st = ApplyEvent(r.Text(1), r.Text(2), counts);
    if (!st.ok()) {
      failure = st;
      break;
    }
    last = r.Int(0);
    ++counts.events;
  }
  if (last != cursor) GMPKI_RETURN_IF_ERROR(SaveCursor(last));
  if (!failure.ok()) return failure.error();
  return counts;
}

Result<SyncCounts> DirectorySync::FullResync() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncCounts counts;
  std::int64_t high = 0;
  std::vector<store::Row> cas;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(auto h, tx->QueryOne("SELECT MAX(id) FROM outbox"));
    if (h && !h->IsNull(0)) high = h->Int(0);
    GMPKI_ASSIGN_OR_RETURN(
        cas, tx->Query("SELECT name FROM cas WHERE cert_der IS NOT NULL ORDER BY depth, name"));
  }
  GMPKI_RETURN_IF_ERROR(publisher_.EnsureDit());
  known_cas_.clear();
  for (const auto& c : cas) {
    const std::string& ca = c.Text(0);
    GMPKI_RETURN_IF_ERROR(PublishCaFromDb(ca, counts));
    GMPKI_RETURN_IF_ERROR(PublishLatestCrl(ca, std::nullopt, false, counts));
    GMPKI_RETURN_IF_ERROR(PublishLatestCrl(ca, std::nullopt, true, counts));
    std::vector<store::Row> parts;
    {
      GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
      GMPKI_ASSIGN_OR_RETURN(parts,
                             tx->Query("SELECT DISTINCT crl_partition FROM crls WHERE ca = ? AND "
                                       "crl_partition IS NOT NULL ORDER BY crl_partition",
                                       {ca}));
    }
    for (const auto& pr : parts) {
      GMPKI_RETURN_IF_ERROR(PublishLatestCrl(ca, pr.Int(0), false, counts));
      GMPKI_RETURN_IF_ERROR(PublishLatestCrl(ca, pr.Int(0), true, counts));
    }
    // Keyset pages: a CA with millions of certificates is never held in memory at once.
    std::string after;
    for (;;) {
      std::vector<store::Row> serials;
      {
        GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
        GMPKI_ASSIGN_OR_RETURN(serials,
                               tx->Query("SELECT serial_hex FROM certificates WHERE ca = ? AND "
                                         "serial_hex > ? ORDER BY serial_hex LIMIT 1000",
                                         {ca, after}));
      }
      if (serials.empty()) break;
      for (const auto& s : serials) {
        GMPKI_RETURN_IF_ERROR(PublishCertificateFromDb(ca, s.Text(0), counts));
      }
      after = serials.back().Text(0);
    }
  }
  if (high > 0) GMPKI_RETURN_IF_ERROR(SaveCursor(high));
  return counts;
}

}  // namespace gmpki::directory
