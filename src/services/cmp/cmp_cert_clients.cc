// CMP clients that protect their requests with SM2 signatures (RFC 4210 §5.1.3.3, RFC 9483
// §3.2): registration of the client's certificate, identification and verification of a
// request under the GM/T rule (signer ID 1234567812345678, GM/T 0009), and the CA's signature
// on the answers. OpenSSL 3.0's CMP code signs and verifies SM2 protection with the empty ID,
// so both directions are done here on our own DER code and the SM2 implementation of crypto/.
#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "crypto/sm2.h"
#include "services/cmp/cmp_internal.h"
#include "x509/certificate.h"
#include "x509/der.h"
#include "x509/extensions.h"

namespace gmpki::cmp {
namespace {

using services::Actor;
using services::Permission;

ByteView GmtId() {
  return ByteView(reinterpret_cast<const std::uint8_t*>(crypto::kDefaultSm2Id.data()),
                  crypto::kDefaultSm2Id.size());
}

// The CA of ours whose key signed `cert`, with the CA's record of it.
struct IssuerMatch {
  std::string ca;
  ca::CertRecord record;
};

Result<IssuerMatch> FindIssuer(store::Database& db, ca::CaService& cas, const Actor& by,
                               const x509::Certificate& cert) {
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT name FROM cas ORDER BY name"));
  (void)tx->Rollback();
  for (const auto& row : rows) {
    auto rec = cas.GetCa(row.Text(0));
    if (!rec.ok() || rec->cert_der.empty()) continue;
    auto ca_cert = x509::Certificate::FromDer(rec->cert_der);
    if (!ca_cert.ok() || !(ca_cert->subject() == cert.issuer())) continue;
    if (!x509::VerifyCertificateSignature(cert, ca_cert->public_key()).ok()) continue;
    GMPKI_ASSIGN_OR_RETURN(auto issued, cas.GetCertificate(by, rec->name, cert.serial_hex()));
    if (issued.der != cert.der()) {
      return Error(ErrorCode::kNotFound, "the certificate is not the one CA '" + rec->name +
                                             "' issued under its serial number");
    }
    return IssuerMatch{rec->name, std::move(issued)};
  }
  return Error(ErrorCode::kNotFound, "the certificate was not issued by any CA of this system");
}

}  // namespace

Result<CmpClient> CmpService::CreateCertClient(const Actor& by, const std::string& reference,
                                               const std::string& ca_name,
                                               const std::vector<std::string>& profiles,
                                               std::string_view cert_pem) {
  auto& impl = *impl_;
  // Looked up before the audited transaction (the CA service reads on its own); a failure is
  // reported from inside it, after the permission check, so that it is audited.
  Status cert_status = OkStatus();
  CmpClient client{reference, ca_name, profiles, std::string(kClientActive),
                   ToUnixSeconds(impl.clock.Now()), std::string(kProtectionSignature)};
  Bytes cert_der;
  [&] {
    auto cert = x509::Certificate::Parse(ToBytes(std::string(cert_pem)));
    if (!cert.ok()) {
      cert_status =
          Error(ErrorCode::kInvalidArgument, "not a certificate: " + cert.error().message());
      return;
    }
    if (!cert->subject_key_id() || cert->subject_key_id()->empty()) {
      // RFC 9483 §3.1: senderKID is the SKI of the protecting certificate.
      cert_status =
          Error(ErrorCode::kPolicyViolation, "the certificate has no subjectKeyIdentifier");
      return;
    }
    // RFC 5280 §4.2.1.3: a key that signs CMP messages needs digitalSignature.
    if (cert->key_usage() && (*cert->key_usage() & x509::kDigitalSignature) == 0) {
      cert_status = Error(ErrorCode::kPolicyViolation, "the certificate's key may not sign");
      return;
    }
    if (!cert->IsValidAt(impl.clock.Now())) {
      cert_status = Error(ErrorCode::kPolicyViolation, "the certificate is not valid now");
      return;
    }
    auto issuer = FindIssuer(impl.db, impl.ca, by, *cert);
    if (!issuer.ok()) {
      cert_status = issuer.error();
      return;
    }
    if (issuer->record.status != "good") {
      cert_status = Error(ErrorCode::kConflict, "the certificate is " + issuer->record.status);
      return;
    }
    client.cert_issuer_ca = issuer->ca;
    client.cert_serial_hex = cert->serial_hex();
    client.cert_key_id_hex = HexEncode(*cert->subject_key_id());
    client.cert_fingerprint = cert->fingerprint_hex();
    cert_der = cert->der();
  }();
  audit::AuditEvent ev;
  ev.actor = by.name;
  ev.role = std::string(services::RoleName(by.role));
  ev.action = "cmp.client.create";
  ev.object = "cmp-client:" + (ValidReference(reference) ? reference : std::string("?"));
  ev.node = impl.node;
  ev.time = impl.clock.Now();
  ev.detail = nlohmann::json{{"ca", ca_name}, {"profiles", profiles}, {"protection", "signature"},
                             {"certificate", client.cert_fingerprint},
                             {"issuer", client.cert_issuer_ca},
                             {"serial", client.cert_serial_hex}}.dump();
  Status st = audit::RunAudited(impl.db, ev, [&](store::Transaction& tx) -> Status {
    GMPKI_RETURN_IF_ERROR(services::Authorize(by, Permission::kRaManage));
    GMPKI_RETURN_IF_ERROR(cert_status);
    GMPKI_RETURN_IF_ERROR(impl.InsertClient(tx, client, {}, {}));
    auto ins = tx.Exec("INSERT INTO cmp_client_certs (reference, issuer_ca, serial_hex, key_id,"
                       " fingerprint, cert_der) VALUES (?, ?, ?, ?, ?, ?)",
                       {reference, client.cert_issuer_ca, client.cert_serial_hex,
                        client.cert_key_id_hex, client.cert_fingerprint, cert_der});
    if (!ins.ok() && ins.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists,
                   "the certificate is registered to another CMP client");
    }
    if (!ins.ok()) return ins.error();
    return OkStatus();
  });
  if (!st.ok()) return st.error();
  return client;
}

Result<LoadedClient> CmpService::Impl::FindCertClient(const std::optional<Bytes>& sender_kid,
                                                      const std::vector<Bytes>& extra_certs) {
  std::string column;
  std::string value;
  if (sender_kid && !sender_kid->empty()) {
    column = "key_id";
    value = HexEncode(*sender_kid);
  } else if (!extra_certs.empty()) {
    auto cert = x509::Certificate::FromDer(extra_certs.front());
    if (!cert.ok()) return Error(ErrorCode::kNotFound, "the first extraCerts entry is unreadable");
    column = "fingerprint";
    value = cert->fingerprint_hex();
  } else {
    return Error(ErrorCode::kNotFound, "neither senderKID nor extraCerts names the signer");
  }
  GMPKI_ASSIGN_OR_RETURN(auto tx, db.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne("SELECT reference FROM cmp_client_certs WHERE " +
                                                    column + " = ?",
                                                {value}));
  (void)tx->Rollback();
  if (!row) return Error(ErrorCode::kNotFound, "no CMP client with this certificate");
  return LoadClient(row->Text(0));
}

std::optional<std::pair<FailBit, std::string>> CmpService::Impl::CheckClientCertificate(
    const LoadedClient& c) {
  auto cert = x509::Certificate::FromDer(c.cert_der);
  if (!cert.ok()) return std::pair{kSystemFailure, std::string("stored certificate unreadable")};
  if (!cert->IsValidAt(clock.Now())) {
    return std::pair{kSignerNotTrusted, std::string("the signer's certificate is not valid now")};
  }
  // Asked of the CA at every request: a revocation or hold takes effect at once.
  const services::Actor actor{"cmp:" + c.client.reference, services::Role::kRaSystem};
  auto rec = ca.GetCertificate(actor, c.client.cert_issuer_ca, c.client.cert_serial_hex);
  if (!rec.ok()) {
    return std::pair{kSignerNotTrusted, std::string("the signer's certificate is unknown")};
  }
  if (rec->status != "good") {
    return std::pair{kCertRevoked, "the signer's certificate is " + rec->status};
  }
  return std::nullopt;
}

Result<Bytes> CmpService::Impl::SignAnswer(const std::string& ca_alias, ByteView answer) {
  GMPKI_ASSIGN_OR_RETURN(auto rec, ca.GetCa(ca_alias));
  if (rec.external || rec.key_label.empty() || rec.cert_der.empty()) {
    return Error(ErrorCode::kUnavailable, "CA '" + ca_alias + "' has no signing key here");
  }
  GMPKI_ASSIGN_OR_RETURN(auto ca_cert, x509::Certificate::FromDer(rec.cert_der));
  if (!ca_cert.subject_key_id()) {
    return Error(ErrorCode::kInternal, "the CA certificate has no subjectKeyIdentifier");
  }
  GMPKI_ASSIGN_OR_RETURN(auto chain, ca.CaChain(ca_alias));  // CA first, root last
  std::vector<Bytes> extra;
  for (const auto& c : chain) extra.push_back(c.der());
  GMPKI_ASSIGN_OR_RETURN(auto session, device.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, session->FindKey(rec.key_label));
  return AddSignatureProtection(
      answer, ca_cert.subject().der(), *ca_cert.subject_key_id(), extra,
      [&](ByteView part) { return session->SignMessage(key.index, GmtId(), part); });
}

}  // namespace gmpki::cmp
