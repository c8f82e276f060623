// Certificate requests (LD/T 02.1 §7.3.2: 用户证书的申请、审核以及证书的制作; RA-01): request,
// review under the four-eyes rule, issuance, renewal and revocation through the CA gateway, and
// download of the issued certificate.
#include "services/ra/ra_internal.h"
#include "x509/certificate.h"
#include "x509/csr.h"
#include "x509/pem.h"
#include "x509/pkcs7.h"

namespace gmpki::ra {
namespace {

using services::Permission;
using namespace internal;  // NOLINT: this component's own helpers

Status CheckName(const std::string& v, std::string_view field) {
  if (v.empty() || v.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, std::string(field) + " must have 1..64 characters");
  }
  return OkStatus();
}

// A CA refusal that retrying cannot cure marks the request "failed"; anything else (the CA or
// the link unavailable) leaves it "approved" so that approving again retries under the same
// request ID.
bool Permanent(ErrorCode c) {
  switch (c) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kIoError:
    case ErrorCode::kStorageFailure:
    case ErrorCode::kAuditFailure:
    case ErrorCode::kDeviceFailure:
    case ErrorCode::kInternal:
    case ErrorCode::kUnauthenticated:
      return false;
    default:
      return true;
  }
}

}  // namespace

Result<RaService::RequestRow> RaService::LoadRequest(store::Transaction& tx,
                                                     const std::string& id) {
  GMPKI_ASSIGN_OR_RETURN(auto r, tx.QueryOne(std::string("SELECT ") + kRequestColumns +
                                             " FROM ra_requests WHERE id = ?",
                                             {id}));
  if (!r) return Error(ErrorCode::kNotFound, "no certificate request '" + id + "'");
  RequestRow row;
  RequestView& v = row.view;
  v.id = r->Text(0);
  v.kind = r->Text(1);
  v.subscriber = r->Text(2);
  v.status = r->Text(3);
  v.ca = r->Text(4);
  v.profile = r->Text(5);
  if (!r->IsNull(6)) v.validity_days = static_cast<int>(r->Int(6));
  v.source_request = TextOr(*r, 7);
  if (!r->IsNull(8)) v.reason = static_cast<x509::RevocationReason>(r->Int(8));
  v.point = r->Text(9);
  v.requested_by = r->Text(10);
  v.reviewed_by = r->Text(11);
  v.review_reason = r->Text(12);
  v.last_error = r->Text(13);
  v.serial_hex = TextOr(*r, 14);
  v.not_after = r->Int(15);
  if (!r->IsNull(16)) v.revoked_unix = r->Int(16);
  v.created_unix = r->Int(17);
  v.updated_unix = r->Int(18);
  row.csr_enc = BlobOr(*r, 19);
  row.cert_enc = BlobOr(*r, 20);
  v.sign_request = TextOr(*r, 21);
  if (!v.source_request.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto src, tx.QueryOne("SELECT serial_hex FROM ra_requests WHERE id = ?",
                                                 {v.source_request}));
    if (src && !src->IsNull(0)) row.source_serial = src->Text(0);
  }
  if (!v.sign_request.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto sign, tx.QueryOne("SELECT serial_hex FROM ra_requests WHERE id = ?",
                                                  {v.sign_request}));
    if (sign && !sign->IsNull(0)) row.sign_serial = sign->Text(0);
  }
  return row;
}

Result<ca::IdentityAttributes> RaService::IdentityOf(const SubscriberRow& s) const {
  // The identity extensions of the certificate come from the reviewed record, never from the
  // CSR: LD/T 02.1 identity attributes are what the RA vouches for.
  ca::IdentityAttributes id;
  GMPKI_ASSIGN_OR_RETURN(auto clear, ToView(s, true));
  if (s.kind == kKindPerson) {
    if (s.id_kind == pii::IdKindName(pii::IdKind::kResidentId)) id.resident_id = clear.id_number;
    if (s.id_kind == pii::IdKindName(pii::IdKind::kPassport)) id.passport = clear.id_number;
    if (!clear.social_security.empty()) id.insurance_number = clear.social_security;
  } else if (s.kind == kKindOrganization) {
    id.uscc = s.uscc;
  }
  return id;
}

Result<RequestView> RaService::RequestCertificate(const services::Actor& actor,
                                                  const CertRequestInput& in) {
  // The KM generates encryption keys: such a request names a signing certificate (ra_dual.cc).
  if (IsEncryptionProfile(in.profile)) return RequestEncryption(actor, in);
  GMPKI_ASSIGN_OR_RETURN(std::string id, NewId("req"));
  RequestView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.request.issue", "ra-request:" + id,
                            Permission::kCertRequest, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    auto& d = *ctx.detail;
    d["subscriber"] = in.subscriber;
    d["ca"] = in.ca;
    d["profile"] = in.profile;
    GMPKI_RETURN_IF_ERROR(CheckName(in.ca, "ca"));
    GMPKI_RETURN_IF_ERROR(CheckName(in.profile, "profile"));
    if (in.validity_days && (*in.validity_days < 1 || *in.validity_days > 36500)) {
      return Error(ErrorCode::kInvalidArgument, "validity_days must be 1..36500");
    }
    if (!in.sign_serial.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "sign_serial applies to encryption profiles only; '" + in.profile +
                       "' needs a CSR");
    }
    GMPKI_ASSIGN_OR_RETURN(auto csr, x509::CertificateRequest::Parse(in.csr));
    GMPKI_RETURN_IF_ERROR(csr.VerifyProofOfPossession());
    GMPKI_ASSIGN_OR_RETURN(auto sub, LoadSubscriber(tx, in.subscriber));
    if (sub.status != kStatusApproved) {
      return Error(ErrorCode::kFailedPrecondition,
                   "subscriber '" + in.subscriber + "' is " + sub.status + ", not approved");
    }
    // The CSR's subject may carry personal data too: it is sealed like the record.
    GMPKI_ASSIGN_OR_RETURN(auto csr_enc, pii_->Encrypt(pii::IdKind::kOther, SealContext("csr", id),
                                                       ToString(csr.der())));
    std::int64_t now = ToUnixSeconds(clock_.Now());
    store::Value validity = store::Null{};
    if (in.validity_days) validity = static_cast<std::int64_t>(*in.validity_days);
    GMPKI_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO ra_requests (id, kind, subscriber, status, ca, profile, validity_days, "
        "point, requested_by, reviewed_by, review_reason, last_error, not_after, created_unix, "
        "updated_unix, csr_enc) VALUES (?, 'issue', ?, 'pending', ?, ?, ?, ?, ?, '', '', '', 0, "
        "?, ?, ?)",
        {id, in.subscriber, in.ca, in.profile, validity, ctx.point, actor.name, now, now,
         csr_enc}));
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadRequest(tx, id));
    out = row.view;
    return OkStatus();
  }));
  return out;
}

Result<RequestView> RaService::NewLifecycleRequest(const services::Actor& actor,
                                                   const std::string& kind,
                                                   const std::string& source_request,
                                                   std::optional<x509::RevocationReason> reason,
                                                   std::optional<int> validity_days) {
  GMPKI_ASSIGN_OR_RETURN(std::string id, NewId("req"));
  RequestView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.request." + kind, "ra-request:" + id,
                            Permission::kCertRequest, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    (*ctx.detail)["source_request"] = source_request;
    if (reason) {
      (*ctx.detail)["reason"] = std::string(x509::RevocationReasonName(*reason));
      if (*reason == x509::RevocationReason::kCertificateHold ||
          *reason == x509::RevocationReason::kRemoveFromCrl) {
        return Error(ErrorCode::kInvalidArgument,
                     "a revocation request cannot ask for certificateHold or removeFromCRL");
      }
    }
    if (validity_days && (*validity_days < 1 || *validity_days > 36500)) {
      return Error(ErrorCode::kInvalidArgument, "validity_days must be 1..36500");
    }
    GMPKI_ASSIGN_OR_RETURN(auto src, LoadRequest(tx, source_request));
    if ((src.view.kind != "issue" && src.view.kind != "renew") ||
        src.view.status != "completed" || src.view.serial_hex.empty()) {
      return Error(ErrorCode::kFailedPrecondition,
                   "request '" + source_request + "' holds no issued certificate");
    }
    if (src.view.revoked_unix) {
      return Error(ErrorCode::kFailedPrecondition,
                   "the certificate of request '" + source_request + "' is revoked");
    }
    if (kind == "renew" && !src.view.sign_request.empty()) {
      // Renewing would certify the KM's key again under a serial the KM has no binding for;
      // a new encryption certificate (and key) is requested instead.
      return Error(ErrorCode::kFailedPrecondition,
                   "request '" + source_request + "' holds an encryption certificate, which is "
                   "not renewed: request a new encryption certificate");
    }
    if (kind == "renew") {
      GMPKI_ASSIGN_OR_RETURN(auto sub, LoadSubscriber(tx, src.view.subscriber));
      if (sub.status != kStatusApproved) {
        return Error(ErrorCode::kFailedPrecondition,
                     "subscriber '" + sub.id + "' is " + sub.status + ", not approved");
      }
    }
    std::int64_t now = ToUnixSeconds(clock_.Now());
    store::Value validity = store::Null{}, reason_v = store::Null{};
    if (validity_days) validity = static_cast<std::int64_t>(*validity_days);
    if (reason) reason_v = static_cast<std::int64_t>(*reason);
    GMPKI_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO ra_requests (id, kind, subscriber, status, ca, profile, validity_days, "
        "source_request, reason, point, requested_by, reviewed_by, review_reason, last_error, "
        "not_after, created_unix, updated_unix) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, "
        "'', '', '', 0, ?, ?)",
        {id, kind, src.view.subscriber, src.view.ca, src.view.profile, validity, source_request,
         reason_v, ctx.point, actor.name, now, now}));
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadRequest(tx, id));
    out = row.view;
    return OkStatus();
  }));
  return out;
}

Result<RequestView> RaService::RequestRevocation(const services::Actor& actor,
                                                 const std::string& source_request,
                                                 x509::RevocationReason reason) {
  return NewLifecycleRequest(actor, "revoke", source_request, reason, std::nullopt);
}

Result<RequestView> RaService::RequestRenewal(const services::Actor& actor,
                                              const std::string& source_request,
                                              std::optional<int> validity_days) {
  return NewLifecycleRequest(actor, "renew", source_request, std::nullopt, validity_days);
}

Result<RequestView> RaService::ReviewRequest(const services::Actor& actor, const std::string& id,
                                             const Review& review) {
  RequestRow row;
  ca::IdentityAttributes identity;
  bool execute = false;
  GMPKI_RETURN_IF_ERROR(Run(actor, review.approve ? "ra.request.approve" : "ra.request.reject",
                            "ra-request:" + id, Permission::kSubscriberReview, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    if (review.reason.size() > 512) {
      return Error(ErrorCode::kInvalidArgument, "reason: at most 512 bytes");
    }
    if (!review.approve && review.reason.empty()) {
      return Error(ErrorCode::kInvalidArgument, "a rejection needs a reason");
    }
    GMPKI_ASSIGN_OR_RETURN(row, LoadRequest(tx, id));
    (*ctx.detail)["kind"] = row.view.kind;
    (*ctx.detail)["reason"] = review.reason;
    if (review.approve && row.view.status == "completed") {
      // A retried approval of a finished request: nothing more to do, nothing issued again.
      (*ctx.detail)["already_completed"] = true;
      return OkStatus();
    }
    bool reviewable = row.view.status == "pending" ||
                      (review.approve && row.view.status == "approved");
    if (!reviewable) {
      return Error(ErrorCode::kConflict,
                   "request '" + id + "' is " + row.view.status + " and cannot be " +
                       (review.approve ? "approved" : "rejected"));
    }
    // Four-eyes: the reviewer of a request is never its requester (LD/T §7.3.2 审核).
    if (actor.name == row.view.requested_by) {
      return Error(ErrorCode::kPolicyViolation,
                   "four-eyes rule: '" + actor.name + "' requested this and may not review it");
    }
    if (review.approve && row.view.kind != "revoke") {
      GMPKI_ASSIGN_OR_RETURN(auto sub, LoadSubscriber(tx, row.view.subscriber));
      if (sub.status != kStatusApproved) {
        return Error(ErrorCode::kFailedPrecondition,
                     "subscriber '" + sub.id + "' is " + sub.status + ", not approved");
      }
      if (row.view.kind == "issue") {
        GMPKI_ASSIGN_OR_RETURN(identity, IdentityOf(sub));
      }
    }
    std::string status = review.approve ? "approved" : "rejected";
    GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_requests SET status = ?, reviewed_by = ?, "
                                  "review_reason = ?, updated_unix = ? WHERE id = ?",
                                  {status, actor.name, review.reason,
                                   ToUnixSeconds(clock_.Now()), id}));
    row.view.status = status;
    row.view.reviewed_by = actor.name;
    row.view.review_reason = review.reason;
    execute = review.approve;
    return OkStatus();
  }));
  if (!execute) return row.view;
  return Execute(actor, row, identity);
}

Result<RequestView> RaService::Execute(const services::Actor& actor, const RequestRow& req,
                                       const ca::IdentityAttributes& identity) {
  const RequestView& v = req.view;
  // The gateway request ID is the RA request's ID: the CA executes it at most once, so an
  // approval retried after a lost answer gets the first result back (ca_gateway.h).
  Bytes csr_der;  // unsealed before the CA call: failing to unseal is not the CA's refusal
  if (v.kind == "issue" && v.sign_request.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto csr, pii_->Decrypt(pii::IdKind::kOther, SealContext("csr", v.id),
                                                   req.csr_enc));
    csr_der = ToBytes(csr);
  }
  std::optional<ca::IssuedCertificate> issued;
  std::optional<ca::KmKeyDelivery> delivery;
  Status outcome = [&]() -> Status {
    if (v.kind == "issue" && !v.sign_request.empty()) {
      // An encryption certificate: the KM generates the key and envelopes it to the signing
      // certificate's key; the CA certifies it (LD/T 02.1 §7.3.2; KM-03).
      ca::EncryptionIssueRequest r;
      r.ca = v.ca;
      r.sign_serial = req.sign_serial;
      r.profile = v.profile;
      r.validity_days = v.validity_days;
      GMPKI_ASSIGN_OR_RETURN(auto dual, gateway_.IssueEncryption(v.id, r));
      issued = std::move(dual.certificate);
      delivery = std::move(dual.delivery);
    } else if (v.kind == "issue") {
      ca::IssueRequest r;
      r.ca = v.ca;
      r.profile = v.profile;
      r.csr = csr_der;
      r.validity_days = v.validity_days;
      r.identity = identity;
      GMPKI_ASSIGN_OR_RETURN(issued, gateway_.Issue(v.id, r));
    } else if (v.kind == "renew") {
      GMPKI_ASSIGN_OR_RETURN(issued, gateway_.Renew(v.id, v.ca, req.source_serial,
                                                    v.validity_days));
    } else if (v.kind == "recover") {
      GMPKI_ASSIGN_OR_RETURN(delivery, gateway_.RecoverEncryptionKey(v.id, v.ca, req.source_serial,
                                                                     req.sign_serial));
    } else {
      GMPKI_RETURN_IF_ERROR(gateway_.Revoke(v.id, v.ca, req.source_serial,
                                            v.reason.value_or(x509::RevocationReason::kUnspecified)));
    }
    return OkStatus();
  }();
  if (!outcome.ok()) {
    const Error& e = outcome.error();
    // The CA's refusal is recorded on the request and audited as a failure; the decision stays.
    std::string status = Permanent(e.code()) ? "failed" : "approved";
    audit::AuditEvent ev{actor.name, std::string(services::RoleName(actor.role)),
                         "ra.request.execute", "ra-request:" + v.id, audit::Outcome::kFailure,
                         nlohmann::json{{"ra", settings_.ra_name}, {"point", v.point},
                                        {"kind", v.kind}, {"status", status},
                                        {"error", std::string(e.info().slug)},
                                        {"message", e.message()}}.dump(),
                         clock_.Now(), settings_.node};
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
    GMPKI_RETURN_IF_ERROR(tx->Exec("UPDATE ra_requests SET status = ?, last_error = ?, "
                                   "updated_unix = ? WHERE id = ? AND status = 'approved'",
                                   {status, std::string(e.info().slug) + ": " + e.message(),
                                    ToUnixSeconds(clock_.Now()), v.id}));
    if (Status a = audit::AppendAudit(*tx, ev); !a.ok()) {
      (void)tx->Rollback();
      return Error(ErrorCode::kAuditFailure, "the audit record could not be written");
    }
    GMPKI_RETURN_IF_ERROR(tx->Commit());
    return e;
  }
  RequestView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.request.execute", "ra-request:" + v.id,
                            Permission::kSubscriberReview, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    (*ctx.detail)["kind"] = v.kind;
    GMPKI_ASSIGN_OR_RETURN(auto cur, LoadRequest(tx, v.id));
    std::int64_t now = ToUnixSeconds(clock_.Now());
    if (cur.view.status != "completed") {  // a concurrent approval may have finished first
      if (v.kind == "recover") {
        // No certificate of its own: the request names the encryption certificate recovered.
        GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_requests SET status = 'completed', "
                                      "serial_hex = ?, last_error = '', updated_unix = ? "
                                      "WHERE id = ?",
                                      {req.source_serial, now, v.id}));
        (*ctx.detail)["serial"] = req.source_serial;
      } else if (v.kind == "revoke") {
        GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_requests SET revoked_unix = ?, updated_unix = ? "
                                      "WHERE id = ?",
                                      {now, now, v.source_request}));
        GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_requests SET status = 'completed', "
                                      "serial_hex = ?, last_error = '', updated_unix = ? "
                                      "WHERE id = ?",
                                      {req.source_serial, now, v.id}));
        (*ctx.detail)["serial"] = req.source_serial;
      } else {
        // The certificate carries the subscriber's identity numbers: sealed like the record.
        GMPKI_ASSIGN_OR_RETURN(auto cert_enc,
                               pii_->Encrypt(pii::IdKind::kOther, SealContext("cert", v.id),
                                             ToString(issued->record.der)));
        GMPKI_RETURN_IF_ERROR(tx.Exec("UPDATE ra_requests SET status = 'completed', "
                                      "serial_hex = ?, not_after = ?, cert_enc = ?, "
                                      "last_error = '', updated_unix = ? WHERE id = ?",
                                      {issued->record.serial_hex, issued->record.not_after,
                                       cert_enc, now, v.id}));
        (*ctx.detail)["serial"] = issued->record.serial_hex;
      }
      if (delivery) {
        GMPKI_RETURN_IF_ERROR(StoreDelivery(tx, v.id, *delivery, now));
        (*ctx.detail)["key_id"] = delivery->key_id;
        (*ctx.detail)["sign_serial"] = req.sign_serial;
      }
    }
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadRequest(tx, v.id));
    out = row.view;
    return OkStatus();
  }));
  return out;
}

Result<RequestView> RaService::GetRequest(const services::Actor& actor, const std::string& id) {
  RequestView out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.request.read", "ra-request:" + id,
                            Permission::kSubscriberRead, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx&) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadRequest(tx, id));
    out = row.view;
    return OkStatus();
  }));
  return out;
}

Result<std::vector<RequestView>> RaService::ListRequests(const services::Actor& actor,
                                                         const RequestQuery& q) {
  std::vector<RequestView> out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.request.search", "", Permission::kSubscriberRead, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_RETURN_IF_ERROR(CheckLimitOffset(q.limit, q.offset));
    std::string sql = "SELECT id FROM ra_requests WHERE 1 = 1";
    std::vector<store::Value> params;
    nlohmann::json criteria = nlohmann::json::object();
    for (auto [value, column] : {std::pair{&q.subscriber, "subscriber"}, {&q.kind, "kind"},
                                 {&q.status, "status"}}) {
      if (*value) {
        sql += std::string(" AND ") + column + " = ?";
        params.push_back(**value);
        criteria[column] = **value;
      }
    }
    sql += " ORDER BY created_unix, id LIMIT ? OFFSET ?";
    params.push_back(static_cast<std::int64_t>(q.limit));
    params.push_back(static_cast<std::int64_t>(q.offset));
    (*ctx.detail)["criteria"] = criteria;
    GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const auto& r : rows) {
      GMPKI_ASSIGN_OR_RETURN(auto row, LoadRequest(tx, r.Text(0)));
      out.push_back(std::move(row.view));
    }
    return OkStatus();
  }));
  return out;
}

Result<Bytes> RaService::Download(const services::Actor& actor, const std::string& id,
                                  CertFormat format) {
  // The CA chain comes from the gateway before the audited transaction, so no network call
  // runs while a write transaction is open.
  std::vector<Bytes> chain;
  if (format == CertFormat::kPkcs7) {
    if (Status st = services::Authorize(actor, Permission::kCertRequest); !st.ok()) {
      audit::AuditEvent ev{actor.name, std::string(services::RoleName(actor.role)),
                           "ra.cert.download", "ra-request:" + id, audit::Outcome::kFailure,
                           nlohmann::json{{"ra", settings_.ra_name}}.dump(), clock_.Now(),
                           settings_.node};
      RecordFailure(ev, st.error());
      return st.error();
    }
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne("SELECT ca FROM ra_requests WHERE id = ?", {id}));
    if (!row) return Error(ErrorCode::kNotFound, "no certificate request '" + id + "'");
    (void)tx->Rollback();
    GMPKI_ASSIGN_OR_RETURN(chain, gateway_.CaChain(row->Text(0)));
  }
  Bytes out;
  GMPKI_RETURN_IF_ERROR(Run(actor, "ra.cert.download", "ra-request:" + id,
                            Permission::kCertRequest, true,
                            [&](store::Transaction& tx, audit::AuditEvent&, const Ctx& ctx) -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto row, LoadRequest(tx, id));
    if (row.cert_enc.empty()) {
      return Error(ErrorCode::kFailedPrecondition,
                   "request '" + id + "' has no issued certificate (it is " + row.view.status + ")");
    }
    GMPKI_ASSIGN_OR_RETURN(auto der, pii_->Decrypt(pii::IdKind::kOther, SealContext("cert", id),
                                                   row.cert_enc));
    (*ctx.detail)["serial"] = row.view.serial_hex;
    switch (format) {
      case CertFormat::kDer:
        out = ToBytes(der);
        (*ctx.detail)["format"] = "der";
        break;
      case CertFormat::kPem:
        out = ToBytes(x509::PemEncode(x509::kPemCertificate, AsBytes(der)));
        (*ctx.detail)["format"] = "pem";
        break;
      case CertFormat::kPkcs7: {
        std::vector<x509::Certificate> certs;
        GMPKI_ASSIGN_OR_RETURN(auto leaf, x509::Certificate::FromDer(AsBytes(der)));
        certs.push_back(std::move(leaf));
        for (const auto& c : chain) {
          GMPKI_ASSIGN_OR_RETURN(auto ca_cert, x509::Certificate::FromDer(c));
          certs.push_back(std::move(ca_cert));
        }
        GMPKI_ASSIGN_OR_RETURN(out, x509::BuildCertsOnlyPkcs7(certs));
        (*ctx.detail)["format"] = "pkcs7";
        break;
      }
    }
    return OkStatus();
  }));
  return out;
}

}  // namespace gmpki::ra
