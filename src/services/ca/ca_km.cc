// Dual certificates: the CA's half of the KM protocol (LD/T 02.1 §7.3.2; KM-01, KM-03, KM-06).
#include <nlohmann/json.hpp>

#include "crypto/sm3.h"
#include "services/ca/ca_internal.h"
#include "services/core/audit_event.h"

namespace gmpki::ca {

using services::Actor;
using services::Permission;

namespace {

// The KM knows a certificate as "<ca>:<serial>": one KM serves several CAs of a node.
std::string CertRef(const std::string& ca, const std::string& serial) { return ca + ":" + serial; }

// KM request IDs are 1..128 of [A-Za-z0-9._:-]; longer or other keys are hashed.
std::string KmRequestId(const std::string& ca, const std::string& request_key) {
  std::string id = ca + ":" + request_key;
  bool ok = id.size() <= 128;
  for (char c : id) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == ':' || c == '-');
  }
  if (ok) return id;
  auto d = crypto::Sm3(ToBytes(id));
  return "sm3:" + HexEncode(ByteView(d.data(), d.size()));
}

}  // namespace

Result<DualIssued> CaService::IssueEncryption(const Actor& actor, const EncryptionIssueRequest& req) {
  auto ev = services::ActorEvent(actor, "cert.issue-encryption", "ca:" + req.ca, settings_.node, clock_.Now());
  ev.detail = nlohmann::json{{"profile", req.profile}, {"sign_serial", req.sign_serial}}.dump();
  auto refuse = [&](const Error& e) -> Error {
    RecordFailure(ev, e);
    return e;
  };
  if (auto st = services::Authorize(actor, Permission::kCertIssue); !st.ok()) return refuse(st.error());
  if (!km_) {
    return refuse(Error(ErrorCode::kFailedPrecondition,
                        "this CA node has no key management centre configured ([km] url): encryption "
                        "certificates cannot be issued"));
  }
  auto profile = FindProfile(req.profile);
  if (!profile.ok()) return refuse(profile.error());
  if ((*profile)->purpose != KeyPurposeKind::kEncryption) {
    return refuse(Error(ErrorCode::kInvalidArgument, "profile '" + req.profile +
                                                         "' is not an encryption profile (personal-enc, "
                                                         "organization-enc, device-enc)"));
  }
  auto sign_serial = NormalizeSerial(req.sign_serial);
  if (!sign_serial.ok()) return refuse(sign_serial.error());
  auto sign = GetCertificate(actor, req.ca, *sign_serial);
  if (!sign.ok()) return refuse(sign.error());
  auto sign_profile = FindProfile(sign->profile);
  if (!sign_profile.ok() || (*sign_profile)->purpose != KeyPurposeKind::kSigning) {
    return refuse(Error(ErrorCode::kInvalidArgument, "certificate " + *sign_serial + " is not a signing certificate"));
  }
  if ((*sign_profile)->subject != (*profile)->subject) {
    return refuse(Error(ErrorCode::kInvalidArgument, "profile '" + req.profile + "' is for another kind of "
                                                         "subject than signing certificate " + *sign_serial));
  }
  if (sign->status != "good") {
    return refuse(Error(ErrorCode::kFailedPrecondition, "signing certificate " + *sign_serial + " is " + sign->status));
  }
  auto sign_cert = x509::Certificate::FromDer(sign->der);
  if (!sign_cert.ok()) return refuse(sign_cert.error());
  auto identity = IdentityOf(*sign_cert);
  if (!identity.ok()) return refuse(identity.error());

  IssueRequest issue;
  issue.ca = req.ca;
  issue.profile = req.profile;
  issue.validity_days = req.validity_days;
  issue.identity = *identity;
  issue.request_key = req.request_key.empty() ? "enc:" + *sign_serial : req.request_key;
  int days = req.validity_days.value_or((*profile)->default_validity_days);
  std::int64_t not_after = ToUnixSeconds(clock_.Now()) + static_cast<std::int64_t>(days) * 86400;

  auto delivery = km_->ApplyKey(KmRequestId(req.ca, issue.request_key), sign->der, not_after);
  if (!delivery.ok()) return refuse(delivery.error());
  // The KM's key is certified as is: the CA cannot check possession of a key it never holds,
  // and the KM is authenticated by mutual TLS (KM-01).
  GMPKI_ASSIGN_OR_RETURN(auto cert, IssueVerifiedKey(actor, issue, sign_cert->subject(), delivery->enc_public_key));
  if (auto st = km_->BindCertificate(delivery->key_id, CertRef(req.ca, cert.record.serial_hex)); !st.ok()) {
    // The certificate stands; a retry with the same request key binds it.
    return refuse(st.error());
  }
  if (!req.replaces_serial.empty()) {
    GMPKI_RETURN_IF_ERROR(RevokeOnce(actor, req.ca, req.replaces_serial, x509::RevocationReason::kSuperseded));
  }
  return DualIssued{std::move(cert), std::move(*delivery)};
}

Result<KmKeyDelivery> CaService::RecoverEncryptionKey(const Actor& actor, const std::string& ca,
                                                      const std::string& enc_serial,
                                                      const std::string& sign_serial,
                                                      const std::string& request_key) {
  auto ev = services::ActorEvent(actor, "cert.key-recovery", "cert:" + ca + "/" + enc_serial, settings_.node, clock_.Now());
  ev.detail = nlohmann::json{{"sign_serial", sign_serial}}.dump();
  auto refuse = [&](const Error& e) -> Error {
    RecordFailure(ev, e);
    return e;
  };
  if (auto st = services::Authorize(actor, Permission::kCertIssue); !st.ok()) return refuse(st.error());
  if (!km_) return refuse(Error(ErrorCode::kFailedPrecondition, "this CA node has no key management centre configured"));
  auto enc_sn = NormalizeSerial(enc_serial);
  if (!enc_sn.ok()) return refuse(enc_sn.error());
  auto sign_sn = NormalizeSerial(sign_serial);
  if (!sign_sn.ok()) return refuse(sign_sn.error());
  auto enc = GetCertificate(actor, ca, *enc_sn);
  if (!enc.ok()) return refuse(enc.error());
  auto sign = GetCertificate(actor, ca, *sign_sn);
  if (!sign.ok()) return refuse(sign.error());
  auto enc_profile = FindProfile(enc->profile);
  auto sign_profile = FindProfile(sign->profile);
  if (!enc_profile.ok() || (*enc_profile)->purpose != KeyPurposeKind::kEncryption) {
    return refuse(Error(ErrorCode::kInvalidArgument, "certificate " + *enc_sn + " is not an encryption certificate"));
  }
  if (!sign_profile.ok() || (*sign_profile)->purpose != KeyPurposeKind::kSigning) {
    return refuse(Error(ErrorCode::kInvalidArgument, "certificate " + *sign_sn + " is not a signing certificate"));
  }
  if (enc->status != "good" || sign->status != "good") {
    return refuse(Error(ErrorCode::kFailedPrecondition, "both certificates must be good (encryption: " +
                                                            enc->status + ", signing: " + sign->status + ")"));
  }
  if (enc->subject != sign->subject) {
    return refuse(Error(ErrorCode::kPolicyViolation, "the signing certificate names another subject than the "
                                                         "encryption certificate"));
  }
  std::string key = request_key.empty() ? "recover:" + *enc_sn + ":" + *sign_sn : request_key;
  auto d = km_->RestoreKey(KmRequestId(ca, key), CertRef(ca, *enc_sn), sign->der);
  if (!d.ok()) return refuse(d.error());
  GMPKI_RETURN_IF_ERROR(audit::RunAudited(db_, ev, [](store::Transaction&) { return OkStatus(); }));
  return std::move(*d);
}

Result<std::size_t> CaService::ForwardKmRevocations() {
  if (!km_) return std::size_t{0};
  // One forwarder per process at a time; several nodes may forward the same rows (harmless).
  std::lock_guard<std::mutex> lock(km_forward_mu_);
  std::int64_t cursor = 0;
  std::vector<store::Row> rows;
  {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(auto c, tx->QueryOne("SELECT last_id FROM ca_outbox_cursors WHERE consumer = 'km'"));
    if (c) cursor = c->Int(0);
    GMPKI_ASSIGN_OR_RETURN(rows, tx->Query("SELECT id, payload FROM outbox WHERE id > ? AND topic = 'cert.status' "
                                           "ORDER BY id LIMIT 1000",
                                           {cursor}));
  }
  std::size_t forwarded = 0;
  std::int64_t last = cursor;
  Status failure = OkStatus();
  for (const auto& r : rows) {
    auto p = nlohmann::json::parse(r.Text(1), nullptr, false);
    if (p.is_object() && p.value("status", "") == "revoked") {
      std::string ca = p.value("ca", ""), serial = p.value("serial", "");
      GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
      GMPKI_ASSIGN_OR_RETURN(auto cert, tx->QueryOne("SELECT profile, reason FROM certificates WHERE ca = ? AND "
                                                     "serial_hex = ?",
                                                     {ca, serial}));
      (void)tx->Rollback();
      auto profile = cert ? FindProfile(cert->Text(0)) : Result<const Profile*>(Error(ErrorCode::kNotFound, ""));
      if (profile.ok() && (*profile)->purpose == KeyPurposeKind::kEncryption) {
        std::string reason = cert->IsNull(1)
                                 ? "unspecified"
                                 : std::string(x509::RevocationReasonName(
                                       static_cast<x509::RevocationReason>(cert->Int(1))));
        Status st = km_->RevokeKey(CertRef(ca, serial), reason);
        // A certificate whose key the KM never bound (issued before the KM) is not an error.
        if (!st.ok() && st.error().code() != ErrorCode::kNotFound) {
          failure = st;
          break;
        }
        ++forwarded;
      }
    }
    last = r.Int(0);
  }
  if (last != cursor) {
    GMPKI_ASSIGN_OR_RETURN(auto tx, db_.Begin());
    GMPKI_RETURN_IF_ERROR(tx->Exec("INSERT INTO ca_outbox_cursors (consumer, last_id) VALUES ('km', ?) "
                                   "ON CONFLICT (consumer) DO UPDATE SET last_id = excluded.last_id "
                                   "WHERE ca_outbox_cursors.last_id < excluded.last_id",
                                   {last}));
    GMPKI_RETURN_IF_ERROR(tx->Commit());
  }
  if (!failure.ok()) return failure.error();
  return forwarded;
}

}  // namespace gmpki::ca
