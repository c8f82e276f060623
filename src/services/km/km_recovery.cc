// Judicial recovery under dual control and the archive sweep (KM-07, KM-08, KM-09, PF-05).
#include <nlohmann/json.hpp>

#include "services/km/km_internal.h"
#include "x509/certificate.h"
#include "x509/key_envelope.h"

namespace gmpki::km {

using internal::Event;
using internal::kKeyColumns;
using nlohmann::json;
using services::Actor;
using services::Permission;

namespace {

constexpr const char* kRecoveryColumns =
    "id, key_id, requested_by, approved_by, authority, authority_fingerprint, case_ref, reason, status, "
    "created_unix, expires_unix, approved_unix, package";

Recovery RowToRecovery(const store::Row& r, std::int64_t now) {
  Recovery v;
  v.id = r.Text(0);
  v.key_id = r.Text(1);
  v.requested_by = r.Text(2);
  v.approved_by = r.Text(3);
  v.authority = r.Text(4);
  v.authority_fingerprint = r.Text(5);
  v.case_ref = r.Text(6);
  v.reason = r.Text(7);
  v.status = r.Text(8);
  v.created_unix = r.Int(9);
  v.expires_unix = r.Int(10);
  v.approved_unix = r.Int(11);
  if (!r.IsNull(12)) v.package = r.Blob(12);
  // A request nobody approved in time is expired; the row keeps "pending" (nothing to undo).
  if (v.status == "pending" && now > v.expires_unix) v.status = "expired";
  return v;
}

// Seconds in a Julian year: retention is counted in years of 365.25 days.
constexpr std::int64_t kYearSeconds = 31557600;

}  // namespace

Result<Recovery> KmService::RequestJudicialRecovery(const Actor& officer, const JudicialRecoveryRequest& req) {
  auto ev = Event(officer, "km.recovery.request", "", settings_.node, clock_);
  ev.detail = json{{"key_id", req.key_id}, {"ca", req.ca}, {"cert_serial", req.cert_serial},
                   {"case_ref", req.case_ref}}
                  .dump();
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = services::Authorize(officer, Permission::kKmRecover); !st.ok()) return refuse(st.error());
  if (req.case_ref.empty() || req.case_ref.size() > 128) {
    return refuse(Error(ErrorCode::kInvalidArgument, "case_ref (the warrant or case reference) must be 1..128 "
                                                     "characters"));
  }
  if (req.reason.empty() || req.reason.size() > 512) {
    return refuse(Error(ErrorCode::kInvalidArgument, "reason must be 1..512 characters"));
  }
  if (req.key_id.empty() == (req.ca.empty() || req.cert_serial.empty())) {
    return refuse(Error(ErrorCode::kInvalidArgument, "name the key either by key_id or by ca and cert_serial"));
  }
  if (req.authority_certificate.empty()) {
    return refuse(Error(ErrorCode::kInvalidArgument, "authority_certificate is required: the package is "
                                                     "encrypted to it"));
  }
  auto cert = x509::Certificate::Parse(req.authority_certificate);
  if (!cert.ok()) {
    return refuse(Error(ErrorCode::kInvalidArgument,
                        "authority_certificate is not a usable SM2 certificate: " + cert.error().message()));
  }
  TimePoint now_tp = clock_.Now();
  if (!cert->IsValidAt(now_tp)) {
    return refuse(Error(ErrorCode::kFailedPrecondition, "the authority's certificate is not valid now"));
  }
  std::int64_t now = ToUnixSeconds(now_tp);
  GMPKI_ASSIGN_OR_RETURN(std::string id, internal::NewId());
  ev.object = "km-recovery:" + id;
  Recovery rec;
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    auto key = req.key_id.empty()
                   ? LoadKey(tx, "ca = ? AND cert_serial = ?", {req.ca, req.cert_serial}, true)
                   : LoadKey(tx, "key_id = ?", {req.key_id}, true);
    if (!key.ok()) return Error(ErrorCode::kNotFound, "no escrowed or archived key matches the request");
    rec = Recovery{id, key->key_id, officer.name, "", cert->subject().ToString(), cert->fingerprint_hex(),
                   req.case_ref, req.reason, "pending", now, now + settings_.recovery_window_seconds, 0, {}};
    GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO km_recoveries (id, key_id, requested_by, approved_by, authority, "
                                  "authority_fingerprint, authority_cert, case_ref, reason, status, created_unix, "
                                  "expires_unix, approved_unix, package) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, "
                                  "'pending', ?, ?, 0, NULL)",
                                  {id, rec.key_id, officer.name, rec.authority, rec.authority_fingerprint,
                                   cert->der(), req.case_ref, req.reason, now, rec.expires_unix}));
    return OkStatus();
  }));
  return rec;
}

Result<Recovery> KmService::ApproveJudicialRecovery(const Actor& officer, const std::string& id) {
  auto ev = Event(officer, "km.recovery.approve", "km-recovery:" + id, settings_.node, clock_);
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = services::Authorize(officer, Permission::kKmRecover); !st.ok()) return refuse(st.error());
  std::int64_t now = ToUnixSeconds(clock_.Now());
  Recovery rec;
  Bytes authority_der;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(std::string("SELECT ") + kRecoveryColumns +
                                                      ", authority_cert FROM km_recoveries WHERE id = ?",
                                                  {id}));
    if (!row) return refuse(Error(ErrorCode::kNotFound, "no recovery request '" + id + "'"));
    rec = RowToRecovery(*row, now);
    authority_der = row->Blob(13);
  }
  if (rec.status != "pending") {
    return refuse(Error(ErrorCode::kFailedPrecondition, "recovery " + id + " is " + rec.status +
                                                            ", not pending"));
  }
  if (rec.requested_by == officer.name) {
    return refuse(Error(ErrorCode::kPolicyViolation, "dual control: recovery " + id +
                                                         " must be approved by a second, distinct officer"));
  }
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(authority_der));
  Bytes package;
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto w, LoadWrapped(tx, rec.key_id));
    GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
    GMPKI_ASSIGN_OR_RETURN(auto parts, session->EnvelopeWrappedKey(kEscrowContext, w.second, w.first,
                                                                   cert.public_key(),
                                                                   device::EnvelopeForm::kSm4CbcDer));
    x509::CbcKeyEnvelope env{std::move(parts.encrypted_cek), std::move(parts.iv), std::move(parts.ciphertext),
                             w.first};
    GMPKI_ASSIGN_OR_RETURN(package, x509::EncodeGmEnvelopedData(env, x509::RecipientIdFromCertificate(cert)));
    GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE km_recoveries SET status = 'released', approved_by = ?, "
                                           "approved_unix = ?, package = ? WHERE id = ? AND status = 'pending'",
                                           {officer.name, now, package, id}));
    if (n != 1) return Error(ErrorCode::kConflict, "recovery " + id + " changed state meanwhile");
    return OkStatus();
  }));
  rec.status = "released";
  rec.approved_by = officer.name;
  rec.approved_unix = now;
  rec.package = std::move(package);
  return rec;
}

Result<Recovery> KmService::GetRecovery(const Actor& officer, const std::string& id) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(officer, Permission::kKmRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(std::string("SELECT ") + kRecoveryColumns +
                                                    " FROM km_recoveries WHERE id = ?",
                                                {id}));
  if (!row) return Error(ErrorCode::kNotFound, "no recovery request '" + id + "'");
  Recovery r = RowToRecovery(*row, ToUnixSeconds(clock_.Now()));
  r.package.clear();  // only FetchRecoveryPackage hands it out, audited
  return r;
}

Result<Bytes> KmService::FetchRecoveryPackage(const Actor& officer, const std::string& id) {
  auto ev = Event(officer, "km.recovery.fetch", "km-recovery:" + id, settings_.node, clock_);
  auto refuse = [&](Error e) -> Error {
    (void)audit::RecordRefusal(db_, ev, e);
    return e;
  };
  if (auto st = services::Authorize(officer, Permission::kKmRecover); !st.ok()) return refuse(st.error());
  Bytes package;
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT status, package FROM km_recoveries WHERE id = ?", {id}));
    if (!row) return Error(ErrorCode::kNotFound, "no recovery request '" + id + "'");
    if (row->Text(0) != "released" || row->IsNull(1)) {
      return Error(ErrorCode::kFailedPrecondition, "recovery " + id + " is not released: no package");
    }
    package = row->Blob(1);
    return OkStatus();
  }));
  return package;
}

Result<std::vector<Recovery>> KmService::ListRecoveries(const Actor& officer) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(officer, Permission::kKmRead));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(std::string("SELECT ") + kRecoveryColumns +
                                              " FROM km_recoveries ORDER BY created_unix, id"));
  std::vector<Recovery> out;
  std::int64_t now = ToUnixSeconds(clock_.Now());
  for (const auto& r : rows) {
    out.push_back(RowToRecovery(r, now));
    out.back().package.clear();  // listings never carry packages
  }
  return out;
}

Result<ArchiveReport> KmService::ArchiveSweep() {
  std::int64_t now = ToUnixSeconds(clock_.Now());
  std::int64_t keep = static_cast<std::int64_t>(std::max(settings_.retention_years, 10)) * kYearSeconds;
  ArchiveReport report;
  auto ev = Event("system", "", "km.archive.sweep", "km-archive", settings_.node, clock_);
  // Due: revoked, or expired. The retain-until date counts from the later of expiry and revocation.
  const std::string due = "(status = 'revoked' OR not_after_unix < ?)";
  // One transaction: the moves, the purge and the audit record with their counts.
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
  GMPKI_ASSIGN_OR_RETURN(report.moved,
                         tx->Exec(std::string("INSERT INTO km_archive (") + kKeyColumns +
                                      ", wrapped, archived_unix, retain_until_unix) SELECT " + kKeyColumns +
                                      ", wrapped, ?, (CASE WHEN revoked_unix > not_after_unix THEN revoked_unix "
                                      "ELSE not_after_unix END) + ? FROM km_keys WHERE " + due,
                                  {now, keep, now}));
  GMPKI_ASSIGN_OR_RETURN(auto deleted, tx->Exec("DELETE FROM km_keys WHERE " + due, {now}));
  if (deleted != report.moved) {
    return Error(ErrorCode::kConflict, "keys changed during the archive sweep; it will run again");
  }
  GMPKI_ASSIGN_OR_RETURN(report.purged, tx->Exec("DELETE FROM km_archive WHERE retain_until_unix < ?", {now}));
  ev.detail = json{{"moved", report.moved}, {"purged", report.purged}, {"retention_years",
                                                                       std::max(settings_.retention_years, 10)}}
                  .dump();
  GMPKI_RETURN_IF_ERROR(audit::AppendAudit(*tx, ev));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return report;
}

}  // namespace gmpki::km
