#include <cctype>

#include "services/ca/ca_internal.h"

namespace gmpki::ca {

std::vector<store::Migration> CaMigrations() {
  return {
      {200, "ca tables",
       "CREATE TABLE cas ("
       " name TEXT PRIMARY KEY, parent TEXT, depth INTEGER NOT NULL, kind TEXT NOT NULL,"
       " status TEXT NOT NULL, external INTEGER NOT NULL, key_label TEXT, cert_der {{blob}},"
       " subject TEXT NOT NULL, serial_hex TEXT, not_before INTEGER, not_after INTEGER,"
       " crl_number INTEGER NOT NULL DEFAULT 0, last_full_crl INTEGER NOT NULL DEFAULT 0,"
       " ctl_seq INTEGER NOT NULL DEFAULT 0, created_unix INTEGER NOT NULL);"
       "CREATE TABLE certificates ("
       " ca TEXT NOT NULL, serial_hex TEXT NOT NULL, subject TEXT NOT NULL, profile TEXT NOT NULL,"
       " status TEXT NOT NULL, reason INTEGER, revoked_unix INTEGER,"
       " status_crl INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL,"
       " not_after INTEGER NOT NULL, issued_unix INTEGER NOT NULL, requested_by TEXT NOT NULL,"
       " key_id TEXT NOT NULL, der {{blob}} NOT NULL, PRIMARY KEY (ca, serial_hex));"
       "CREATE INDEX certificates_ca_status ON certificates(ca, status);"
       "CREATE INDEX certificates_subject ON certificates(subject);"
       "CREATE INDEX certificates_status_crl ON certificates(ca, status_crl);"
       "CREATE TABLE crls ("
       " ca TEXT NOT NULL, number INTEGER NOT NULL, delta_base INTEGER,"
       " this_update INTEGER NOT NULL, next_update INTEGER NOT NULL, der {{blob}} NOT NULL,"
       " PRIMARY KEY (ca, number));"
       "CREATE TABLE ctls ("
       " ca TEXT NOT NULL, seq INTEGER NOT NULL, this_update INTEGER NOT NULL,"
       " der {{blob}} NOT NULL, PRIMARY KEY (ca, seq));"
       "CREATE TABLE outbox ("
       " id {{autoid}}, topic TEXT NOT NULL, payload TEXT NOT NULL, created_unix INTEGER NOT NULL)"},
      // Idempotent issuance (IssueRequest::request_key): at most one certificate per key and CA.
      {201, "certificate request keys",
       "ALTER TABLE certificates ADD COLUMN request_key TEXT;"
       "CREATE UNIQUE INDEX certificates_request_key ON certificates(ca, request_key);"},
      // Registration systems attached to this CA and their signed requests (ra_trust.h).
      {202, "registration systems",
       "CREATE TABLE ca_ra_systems ("
       " name TEXT PRIMARY KEY, status TEXT NOT NULL, sign_ca TEXT NOT NULL,"
       " sign_serial TEXT NOT NULL, sign_cert {{blob}} NOT NULL, tls_fingerprint TEXT NOT NULL UNIQUE,"
       " cas TEXT NOT NULL, profiles TEXT NOT NULL, enrolled_by TEXT NOT NULL,"
       " created_unix INTEGER NOT NULL, updated_unix INTEGER NOT NULL);"
       "CREATE TABLE ca_ra_requests ("
       " ra TEXT NOT NULL, request_id TEXT NOT NULL, op TEXT NOT NULL, args_sm3 TEXT NOT NULL,"
       " created_ms INTEGER NOT NULL, received_unix INTEGER NOT NULL, payload {{blob}} NOT NULL,"
       " signature {{blob}} NOT NULL, outcome TEXT NOT NULL, error TEXT NOT NULL,"
       " PRIMARY KEY (ra, request_id));"},
      // How far each consumer of the outbox has read (the KM revocation forwarder, ca_km.cc).
      {203, "outbox cursors",
       "CREATE TABLE ca_outbox_cursors (consumer TEXT PRIMARY KEY, last_id INTEGER NOT NULL)"},
      // Partitioned CRLs (ca_crl.cc, README "CRL partitions"): the partition a certificate was
      // assigned at issue (NULL: only the CA's full CRL), and the partition a CRL covers (NULL:
      // the full CRL). PERSISTENT: partition numbers are in issued certificates' CRL DP URLs.
      {204, "crl partitions",
       "ALTER TABLE certificates ADD COLUMN crl_partition INTEGER;"
       "CREATE INDEX certificates_crl_partition ON certificates(ca, crl_partition, serial_hex);"
       "ALTER TABLE crls ADD COLUMN crl_partition INTEGER;"
       "CREATE INDEX crls_partition ON crls(ca, crl_partition, number)"},
      // CRL generation reads only index pages, in serial order (ca_crl.cc): partial covering
      // indexes over the revoked and held certificates, which are few next to the good ones.
      // Both backends use a partial index when the query repeats its condition verbatim; status is a
      // column too, or SQLite would visit each table row to re-check the condition.
      {205, "crl covering indexes",
       "CREATE INDEX certificates_revoked_serial ON certificates"
       "(ca, serial_hex, reason, revoked_unix, status)"
       " WHERE status <> 'good';"
       "CREATE INDEX certificates_revoked_partition ON certificates"
       "(ca, crl_partition, serial_hex, reason, revoked_unix, status) WHERE status <> 'good'"},
  };
}

Result<CaRecord> RowToCa(const store::Row& r) {
  CaRecord c;
  c.name = r.Text(0);
  c.parent = r.IsNull(1) ? "" : r.Text(1);
  c.depth = static_cast<int>(r.Int(2));
  c.kind = r.Text(3);
  c.status = r.Text(4);
  c.external = r.Int(5) != 0;
  c.key_label = r.IsNull(6) ? "" : r.Text(6);
  if (!r.IsNull(7)) c.cert_der = r.Blob(7);
  c.subject = r.Text(8);
  c.serial_hex = r.IsNull(9) ? "" : r.Text(9);
  c.not_before = r.IsNull(10) ? 0 : r.Int(10);
  c.not_after = r.IsNull(11) ? 0 : r.Int(11);
  return c;
}

Result<CertRecord> RowToCert(const store::Row& r) {
  CertRecord c;
  c.ca = r.Text(0);
  c.serial_hex = r.Text(1);
  c.subject = r.Text(2);
  c.profile = r.Text(3);
  c.status = r.Text(4);
  if (!r.IsNull(5)) c.revocation_reason = static_cast<int>(r.Int(5));
  if (!r.IsNull(6)) c.revoked_unix = r.Int(6);
  c.not_before = r.Int(7);
  c.not_after = r.Int(8);
  c.issued_unix = r.Int(9);
  c.requested_by = r.Text(10);
  c.der = r.Blob(11);
  return c;
}

x509::Signer DeviceSigner(std::shared_ptr<device::Session> session, std::uint32_t index,
                          const crypto::Sm2PublicKey& pub) {
  x509::Signer s;
  s.public_key = pub;
  s.sign = [session = std::move(session), index](ByteView message) -> Result<Bytes> {
    return session->SignMessage(index, AsBytes(x509::kSm2SignerId), message);
  };
  return s;
}

Result<std::string> NormalizeSerial(std::string_view serial) {
  std::string s(serial);
  if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) s = s.substr(2);
  std::string out;
  for (char c : s) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Error(ErrorCode::kInvalidArgument, "serial '" + std::string(serial) + "' is not hex");
    }
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  std::size_t nz = out.find_first_not_of('0');
  out = nz == std::string::npos ? "" : out.substr(nz);
  if (out.empty()) return Error(ErrorCode::kInvalidArgument, "serial must be a positive hex number");
  if (out.size() > 40) return Error(ErrorCode::kInvalidArgument, "serial longer than 20 octets");
  return out;
}

CaService::CaService(store::Database& db, device::CryptoDevice& device, const Clock& clock,
                     CaSettings settings)
    : db_(db), device_(device), clock_(clock), settings_(std::move(settings)), committer_(db) {}

void CaService::RecordFailure(audit::AuditEvent ev, const Error& failure) {
  // The refusal is recorded in its own transaction; the operation changed nothing.
  ev.time = clock_.Now();
  (void)audit::RecordRefusal(db_, ev, failure);
}

Result<CaService::Loaded> CaService::LoadIssuer(store::Transaction& tx, const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kCaColumns +
                                               " FROM cas WHERE name = ?",
                                               {ca}));
  if (!row) return Error(ErrorCode::kNotFound, "no CA named '" + ca + "'");
  Loaded l;
  GMPKI_ASSIGN_OR_RETURN(l.record, RowToCa(*row));
  if (l.record.status != "active") {
    return Error(ErrorCode::kFailedPrecondition,
                 "CA '" + ca + "' is " + l.record.status + " and cannot issue");
  }
  if (l.record.external) {
    return Error(ErrorCode::kFailedPrecondition,
                 "CA '" + ca + "' is an imported external CA; its key is not in this device");
  }
  // CA certificates are parsed once per process and reused while the stored bytes match.
  std::shared_ptr<const x509::Certificate> parsed;
  {
    std::lock_guard lock(cache_mu_);
    auto it = ca_cert_cache_.find(ca);
    if (it != ca_cert_cache_.end() && it->second->der() == l.record.cert_der) parsed = it->second;
  }
  if (!parsed) {
    GMPKI_ASSIGN_OR_RETURN(auto fresh, x509::Certificate::FromDer(l.record.cert_der));
    parsed = std::make_shared<const x509::Certificate>(std::move(fresh));
    std::lock_guard lock(cache_mu_);
    ca_cert_cache_[ca] = parsed;
  }
  x509::Certificate cert = *parsed;
  auto now = clock_.Now();
  if (!cert.IsValidAt(now)) {
    return Error(ErrorCode::kFailedPrecondition,
                 "CA '" + ca + "' certificate is expired or not yet valid");
  }
  l.cert = std::move(cert);
  GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
  l.session = std::shared_ptr<device::Session>(std::move(session));
  GMPKI_ASSIGN_OR_RETURN(auto key, l.session->FindKey(l.record.key_label));
  l.key_index = key.index;
  if (!(key.public_key == l.cert->public_key())) {
    return Error(ErrorCode::kIntegrityFailure,
                 "device key '" + l.record.key_label + "' does not match the CA certificate");
  }
  l.signer = DeviceSigner(l.session, l.key_index, key.public_key);
  return l;
}

Result<CaRecord> CaService::GetCa(const std::string& name) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(std::string("SELECT ") + kCaColumns +
                                                " FROM cas WHERE name = ?",
                                                {name}));
  if (!row) return Error(ErrorCode::kNotFound, "no CA named '" + name + "'");
  return RowToCa(*row);
}

Result<std::vector<x509::Certificate>> CaService::CaChain(const std::string& name) {
  std::vector<x509::Certificate> chain;
  std::string cur = name;
  for (int i = 0; i < 16 && !cur.empty(); ++i) {
    GMPKI_ASSIGN_OR_RETURN(auto rec, GetCa(cur));
    if (rec.cert_der.empty()) {
      return Error(ErrorCode::kFailedPrecondition, "CA '" + cur + "' has no certificate yet");
    }
    GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(rec.cert_der));
    chain.push_back(std::move(cert));
    cur = rec.parent;
  }
  return chain;
}

Result<std::vector<CaRecord>> CaService::ListCas(const services::Actor& actor) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, services::Permission::kCertRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kCaColumns +
                                              " FROM cas ORDER BY depth, name"));
  std::vector<CaRecord> out;
  for (const auto& r : rows) {
    GMPKI_ASSIGN_OR_RETURN(auto c, RowToCa(r));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace gmpki::ca
