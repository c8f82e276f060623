// End-entity certificates: issue from PKCS#10 (CA-02, CA-04), renew, re-key, revoke, hold and
// release, search and export.
#include <chrono>

#include "base/log.h"
#include "services/ca/ca_internal.h"
#include "x509/csr.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/pem.h"
#include "x509/pkcs7.h"

namespace gmpki::ca {
namespace {

using services::Actor;
using services::Permission;

bool IsPrintable(const std::string& s) {
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '.' ||
          c == '/' || c == '(' || c == ')' || c == '+')) {
      return false;
    }
  }
  return !s.empty() && s.size() <= 64;
}

// GB 11643-1999 check digit of an 18-character resident identity number.
bool ValidResidentId(const std::string& id) {
  if (id.size() != 18) return false;
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
    sum += (id[i] - '0') * kWeights[i];
  }
  return std::toupper(static_cast<unsigned char>(id[17])) == kCheck[sum % 11];
}

Status AddIdentity(const Profile& p, const IdentityAttributes& id,
                   std::vector<x509::Extension>& ext) {
  auto refuse = [&](const char* what) {
    return Error(ErrorCode::kPolicyViolation,
                 std::string(what) + " is not allowed by profile '" + p.name + "'");
  };
  auto check = [](const std::optional<std::string>& v, const char* what) -> Status {
    if (v && !IsPrintable(*v)) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string(what) + " must be 1..64 printable characters");
    }
    return OkStatus();
  };
  if (id.resident_id || id.passport || id.insurance_number) {
    if (!p.allows_person_identity) return refuse("a personal identity attribute");
  }
  if (id.organization_code || id.uscc || id.ic_registration || id.tax_number) {
    if (!p.allows_organization_identity) return refuse("an organisation identity attribute");
  }
  if (id.resident_id && id.passport) {
    return Error(ErrorCode::kInvalidArgument, "give a resident ID or a passport number, not both");
  }
  if (id.resident_id) {
    // The number itself must never reach a log or message (CC-FPR): say only what is wrong.
    if (!ValidResidentId(*id.resident_id)) {
      return Error(ErrorCode::kInvalidArgument,
                   "resident ID number is not a valid 18-character GB 11643 number");
    }
    GMPKI_ASSIGN_OR_RETURN(auto e, x509::ext::IdentifyCode(
                                       {x509::ext::IdentityCodeKind::kResidentIdCard, *id.resident_id}));
    ext.push_back(std::move(e));
  }
  if (id.passport) {
    GMPKI_RETURN_IF_ERROR(check(id.passport, "passport number"));
    GMPKI_ASSIGN_OR_RETURN(auto e, x509::ext::IdentifyCode(
                                       {x509::ext::IdentityCodeKind::kPassport, *id.passport}));
    ext.push_back(std::move(e));
  }
  if (id.uscc && id.uscc->size() != 18) {
    return Error(ErrorCode::kInvalidArgument, "unified social credit code must be 18 characters");
  }
  // The single-string GM/T 0015 attributes, in the order they are added.
  using Builder = Result<x509::Extension> (*)(std::string_view);
  const struct {
    const std::optional<std::string>& value;
    const char* what;
    Builder build;
  } kStrings[] = {
      {id.insurance_number, "insurance number", &x509::ext::InsuranceNumber},
      {id.ic_registration, "IC registration number", &x509::ext::IcRegistrationNumber},
      {id.organization_code, "organisation code", &x509::ext::OrganizationCode},
      {id.tax_number, "taxation number", &x509::ext::TaxationNumber},
      {id.uscc, "unified social credit code", &x509::ext::UnifiedSocialCreditCode},
  };
  for (const auto& attr : kStrings) {
    GMPKI_RETURN_IF_ERROR(check(attr.value, attr.what));
    if (attr.value) {
      GMPKI_ASSIGN_OR_RETURN(auto e, attr.build(*attr.value));
      ext.push_back(std::move(e));
    }
  }
  return OkStatus();
}

Result<std::string> SerialArg(const std::string& s) { return NormalizeSerial(s); }

}  // namespace

// The GM/T 0015 identity attributes of an existing certificate, so a renewal keeps them.
Result<IdentityAttributes> IdentityOf(const x509::Certificate& cert) {
  IdentityAttributes id;
  if (const auto* e = cert.FindExtension(x509::oid::kIdentifyCode)) {
    GMPKI_ASSIGN_OR_RETURN(auto code, x509::ParseIdentifyCode(e->value));
    if (code.kind == x509::ext::IdentityCodeKind::kPassport) id.passport = code.number;
    else id.resident_id = code.number;
  }
  auto str = [&](std::string_view oid, std::optional<std::string>& out) -> Status {
    if (const auto* e = cert.FindExtension(oid)) {
      GMPKI_ASSIGN_OR_RETURN(out, x509::ParseStringExtension(e->value));
    }
    return OkStatus();
  };
  GMPKI_RETURN_IF_ERROR(str(x509::oid::kInsuranceNumber, id.insurance_number));
  GMPKI_RETURN_IF_ERROR(str(x509::oid::kOrganizationCode, id.organization_code));
  GMPKI_RETURN_IF_ERROR(str(x509::oid::kUnifiedSocialCreditCode, id.uscc));
  GMPKI_RETURN_IF_ERROR(str(x509::oid::kIcRegistrationNumber, id.ic_registration));
  GMPKI_RETURN_IF_ERROR(str(x509::oid::kTaxationNumber, id.tax_number));
  return id;
}

struct CaService::Prepared {
  CertRecord record;
  std::string key_id_hex;
  std::string request_key;
  std::string pem;
  std::string audit_detail;
  std::optional<std::int64_t> crl_partition;
};

Result<CaService::Prepared> CaService::PrepareIssue(const Loaded& issuer, const Profile& profile,
                                                    const x509::Name& subject,
                                                    const crypto::Sm2PublicKey& key,
                                                    const IssueRequest& req,
                                                    const std::string& requested_by) {
  if (profile.subject == SubjectKind::kCa) {
    return Error(ErrorCode::kPolicyViolation,
                 "profile '" + profile.name + "' is for CA certificates; use `gmpki ca create`");
  }
  for (const auto& attr : profile.required_subject) {
    if (!subject.Get(attr)) {
      return Error(ErrorCode::kPolicyViolation,
                   "profile '" + profile.name + "' requires subject attribute " + attr);
    }
  }
  if (key == issuer.cert->public_key()) {
    return Error(ErrorCode::kPolicyViolation, "the request uses the CA's own public key");
  }
  int days = req.validity_days.value_or(profile.default_validity_days);
  if (days < 1 || days > profile.max_validity_days) {
    return Error(ErrorCode::kPolicyViolation,
                 "validity " + std::to_string(days) + " days is outside 1.." +
                     std::to_string(profile.max_validity_days) + " for profile " + profile.name);
  }
  auto now = clock_.Now();
  TimePoint not_after = now + std::chrono::days(days);
  // A certificate never outlives its issuer (RFC 5280 path validation would reject it later).
  if (not_after > issuer.cert->not_after()) not_after = issuer.cert->not_after();

  std::vector<x509::Extension> ext;
  ext.push_back(x509::ext::BasicConstraints(false, std::nullopt, false));
  GMPKI_ASSIGN_OR_RETURN(auto ku, x509::ext::KeyUsage(profile.key_usage));
  ext.push_back(std::move(ku));
  if (!profile.ext_key_usage.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto eku, x509::ext::ExtKeyUsage(profile.ext_key_usage));
    ext.push_back(std::move(eku));
  }
  Bytes key_id = x509::KeyIdentifierFor(key);
  ext.push_back(x509::ext::SubjectKeyIdentifier(key_id));
  ext.push_back(x509::ext::AuthorityKeyIdentifier(x509::KeyIdentifierFor(issuer.signer.public_key)));
  // The CRL DP names the partition's CRL when partitioning is on (RFC 5280 §4.2.1.13); that
  // CRL's issuingDistributionPoint carries the same URI (§5.2.5, §6.3.3 (b)(2)).
  GMPKI_ASSIGN_OR_RETURN(std::optional<std::int64_t> partition,
                         NextCrlPartition(issuer.record.name));
  GMPKI_ASSIGN_OR_RETURN(auto dp, x509::ext::CrlDistributionPoints(
                                      {CrlUrl(issuer.record.name, partition)}));
  ext.push_back(std::move(dp));
  // The OCSP responder when the node serves one; never in an OCSP signer's own certificate,
  // which relying parties do not check (ocsp-nocheck).
  std::vector<std::string> ocsp_uris;
  if (!settings_.ocsp_url.empty() && !profile.ocsp_nocheck) ocsp_uris.push_back(settings_.ocsp_url);
  GMPKI_ASSIGN_OR_RETURN(auto aia, x509::ext::AuthorityInfoAccess(
                                       ocsp_uris, {settings_.public_base_url + "/ca/" + issuer.record.name + ".crt"}));
  ext.push_back(std::move(aia));
  if (!profile.policy_oids.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto pol, x509::ext::CertificatePolicies(profile.policy_oids));
    ext.push_back(std::move(pol));
  }
  if (!req.emails.empty() || !req.dns_names.empty()) {
    x509::ext::AltNames alt;
    alt.emails = req.emails;
    alt.dns_names = req.dns_names;
    GMPKI_ASSIGN_OR_RETURN(auto san, x509::ext::SubjectAltName(alt));
    ext.push_back(std::move(san));
  }
  GMPKI_RETURN_IF_ERROR(AddIdentity(profile, req.identity, ext));
  if (profile.ocsp_nocheck) ext.push_back(x509::ext::OcspNoCheck());

  x509::TbsSpec spec;
  spec.issuer = issuer.cert->subject();
  spec.subject = subject;
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = not_after;
  spec.subject_public_key = key;
  spec.extensions = std::move(ext);
  // Serials are 128 random bits (x509::GenerateSerial); the primary key (ca, serial) makes
  // them unique per CA, and a collision is refused by the database, never overwritten.
  GMPKI_ASSIGN_OR_RETURN(spec.serial, x509::GenerateSerial());
  GMPKI_ASSIGN_OR_RETURN(auto der, x509::IssueCertificate(spec, issuer.signer));
  Prepared p;
  CertRecord& rec = p.record;
  rec.ca = issuer.record.name;
  // The record is filled from what was just signed (no re-parse of our own output): the
  // serial without leading zero octets, as Certificate::serial_hex() prints it, and the
  // validity to the second, as it is encoded.
  std::size_t nz = 0;
  while (nz + 1 < spec.serial.size() && spec.serial[nz] == 0) ++nz;
  rec.serial_hex = HexEncode(ByteView(spec.serial).subspan(nz), /*upper=*/true);
  rec.subject = subject.ToRfc4514();
  rec.profile = profile.name;
  rec.status = "good";
  rec.not_before = ToUnixSeconds(spec.not_before);
  rec.not_after = ToUnixSeconds(spec.not_after);
  rec.issued_unix = ToUnixSeconds(now);
  rec.requested_by = requested_by;
  p.pem = x509::PemEncode(x509::kPemCertificate, der);
  rec.der = std::move(der);
  p.key_id_hex = HexEncode(key_id);
  p.request_key = req.request_key;
  p.crl_partition = partition;
  // Identity numbers are masked in the audit trail (CC-FPR).
  nlohmann::json d{{"profile", rec.profile}, {"subject", rec.subject}, {"not_after", rec.not_after}};
  if (req.identity.resident_id) d["resident_id"] = MaskIdentifier(*req.identity.resident_id);
  if (req.identity.passport) d["passport"] = MaskIdentifier(*req.identity.passport);
  if (req.identity.insurance_number) d["insurance_number"] = MaskIdentifier(*req.identity.insurance_number);
  p.audit_detail = d.dump();
  return p;
}

Status CaService::StoreIssued(store::Transaction& tx, const Prepared& p, audit::AuditEvent& ev) {
  const CertRecord& rec = p.record;
  // The issuer's state is checked again inside the write transaction: a CA revoked or
  // disabled while this certificate was being signed does not get it stored.
  GMPKI_ASSIGN_OR_RETURN(auto ca_row, tx.QueryOne("SELECT status FROM cas WHERE name = ?", {rec.ca}));
  if (!ca_row || ca_row->Text(0) != "active") {
    return Error(ErrorCode::kFailedPrecondition, "CA '" + rec.ca + "' is no longer active");
  }
  store::Value request_key = store::Null{};
  if (!p.request_key.empty()) request_key = p.request_key;
  auto ins = tx.Exec(
      "INSERT INTO certificates (ca, serial_hex, subject, profile, status, not_before, not_after,"
      " issued_unix, requested_by, key_id, der, request_key, crl_partition)"
      " VALUES (?, ?, ?, ?, 'good', ?, ?, ?, ?, ?, ?, ?, ?)",
      {rec.ca, rec.serial_hex, rec.subject, rec.profile, rec.not_before, rec.not_after,
       rec.issued_unix, rec.requested_by, p.key_id_hex, rec.der, request_key,
       p.crl_partition ? store::Value(*p.crl_partition) : store::Value(store::Null{})});
  if (!ins.ok()) {
    if (ins.error().code() == ErrorCode::kAlreadyExists) {
      // A serial collision, or a concurrent request with the same request key: either way the
      // caller tries again, and the second attempt finds the certificate of the request key.
      return Error(ErrorCode::kUnavailable, "serial number or request key collision");
    }
    return ins.error();
  }
  GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO outbox (topic, payload, created_unix) VALUES (?, ?, ?)",
                                {std::string("cert.issued"),
                                 nlohmann::json{{"ca", rec.ca}, {"serial", rec.serial_hex}}.dump(),
                                 rec.issued_unix}));
  ev.object = "cert:" + rec.ca + "/" + rec.serial_hex;
  ev.detail = p.audit_detail;
  return OkStatus();
}

Result<std::optional<IssuedCertificate>> CaService::FindByRequestKey(const IssueRequest& req,
                                                                     const crypto::Sm2PublicKey& key) {
  GMPKI_ASSIGN_OR_RETURN(auto ro, db_.BeginReadOnly());
  auto row = ro->QueryOne(std::string("SELECT ") + kCertColumns +
                              " FROM certificates WHERE ca = ? AND request_key = ?",
                          {req.ca, req.request_key});
  (void)ro->Rollback();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<IssuedCertificate>();
  GMPKI_ASSIGN_OR_RETURN(auto rec, RowToCert(**row));
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(rec.der));
  if (!(cert.public_key() == key) || rec.profile != req.profile) {
    return Error(ErrorCode::kConflict, "request key '" + req.request_key +
                                           "' was used for a different request (certificate " +
                                           rec.serial_hex + ")");
  }
  std::string pem = x509::PemEncode(x509::kPemCertificate, rec.der);
  return std::optional<IssuedCertificate>(IssuedCertificate{std::move(rec), std::move(pem)});
}

Result<IssuedCertificate> CaService::Issue(const Actor& actor, const IssueRequest& req) {
  auto csr = x509::CertificateRequest::Parse(req.csr);
  Status pop = csr.ok() ? csr->VerifyProofOfPossession() : Status(csr.error());
  if (!pop.ok()) {
    // A request that does not parse or prove possession; a caller without the permission is
    // told that first.
    audit::AuditEvent ev;
    ev.actor = actor.name;
    ev.role = std::string(services::RoleName(actor.role));
    ev.action = "cert.issue";
    ev.object = "ca:" + req.ca;
    ev.node = settings_.node;
    ev.detail = nlohmann::json{{"profile", req.profile}}.dump();
    Status auth = services::Authorize(actor, Permission::kCertIssue);
    Error e = auth.ok() ? pop.error() : auth.error();
    RecordFailure(ev, e);
    return e;
  }
  return IssueVerifiedKey(actor, req, csr->subject(), csr->public_key());
}

Result<IssuedCertificate> CaService::IssueVerifiedKey(const Actor& actor, const IssueRequest& req,
                                                      const x509::Name& subject,
                                                      const crypto::Sm2PublicKey& key) {
  audit::AuditEvent ev;
  ev.actor = actor.name;
  ev.role = std::string(services::RoleName(actor.role));
  ev.action = "cert.issue";
  ev.object = "ca:" + req.ca;
  ev.node = settings_.node;
  ev.detail = nlohmann::json{{"profile", req.profile}}.dump();
  auto refuse = [&](const Error& e) -> Error {
    RecordFailure(ev, e);
    return e;
  };
  // Phase 1, outside any write transaction so that issuances run in parallel: authorise,
  // validate everything, load the issuer, build and sign.
  if (auto st = services::Authorize(actor, Permission::kCertIssue); !st.ok()) return refuse(st.error());
  auto profile = FindProfile(req.profile);
  if (!profile.ok()) return refuse(profile.error());
  Result<Loaded> issuer = Error(ErrorCode::kInternal, "issuer not loaded");
  {
    auto ro = db_.BeginReadOnly();
    if (!ro.ok()) return refuse(ro.error());
    issuer = LoadIssuer(**ro, req.ca);
    (void)(*ro)->Rollback();
  }
  if (!issuer.ok()) return refuse(issuer.error());
  if (req.request_key.size() > 160) {
    return refuse(Error(ErrorCode::kInvalidArgument, "request key longer than 160 characters"));
  }
  // Phase 2: one short write shared with concurrent issuances (group commit): the
  // certificate, its outbox row and its audit record commit together or not at all.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!req.request_key.empty()) {
      auto earlier = FindByRequestKey(req, key);
      if (!earlier.ok()) return refuse(earlier.error());
      if (*earlier) return std::move(**earlier);
    }
    auto prepared = PrepareIssue(*issuer, **profile, subject, key, req, actor.name);
    if (!prepared.ok()) return refuse(prepared.error());
    audit::AuditEvent done = ev;
    Status st = committer_.Run([&](store::Transaction& tx) -> Status {
      done.time = clock_.Now();
      done.outcome = audit::Outcome::kSuccess;
      GMPKI_RETURN_IF_ERROR(StoreIssued(tx, *prepared, done));
      if (auto a = audit::AppendAudit(tx, done); !a.ok()) {
        return Error(ErrorCode::kAuditFailure, "operation not performed: " + a.error().message());
      }
      return OkStatus();
    });
    if (st.ok()) return IssuedCertificate{std::move(prepared->record), std::move(prepared->pem)};
    if (st.error().code() == ErrorCode::kUnavailable && attempt < 2) continue;  // a new serial
    return refuse(st.error());
  }
  return refuse(Error(ErrorCode::kUnavailable, "could not store the certificate; try again"));
}

Result<IssuedCertificate> CaService::Renew(const Actor& actor, const std::string& ca,
                                           const std::string& serial,
                                           std::optional<int> validity_days,
                                           const std::string& request_key) {
  if (request_key.size() > 160) {
    return Error(ErrorCode::kInvalidArgument, "request key longer than 160 characters");
  }
  return Audited<IssuedCertificate>(
      actor, "cert.renew", "cert:" + ca + "/" + serial, Permission::kCertIssue,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<IssuedCertificate> {
        GMPKI_ASSIGN_OR_RETURN(auto sn, SerialArg(serial));
        if (!request_key.empty()) {
          // A repeated renewal: the certificate renewed under this key, if it exists.
          GMPKI_ASSIGN_OR_RETURN(auto done, tx.QueryOne(std::string("SELECT ") + kCertColumns +
                                                            " FROM certificates WHERE ca = ? AND "
                                                            "request_key = ?",
                                                        {ca, request_key}));
          if (done) {
            GMPKI_ASSIGN_OR_RETURN(auto rec, RowToCert(*done));
            std::string pem = x509::PemEncode(x509::kPemCertificate, rec.der);
            ev.detail = nlohmann::json{{"repeated", true}, {"serial", rec.serial_hex}}.dump();
            return IssuedCertificate{std::move(rec), std::move(pem)};
          }
        }
        GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kCertColumns +
                                                     " FROM certificates WHERE ca = ? AND serial_hex = ?",
                                                     {ca, sn}));
        if (!row) return Error(ErrorCode::kNotFound, "no certificate " + sn + " issued by CA '" + ca + "'");
        GMPKI_ASSIGN_OR_RETURN(auto old, RowToCert(*row));
        if (old.status != "good") {
          return Error(ErrorCode::kConflict, "certificate " + sn + " is " + old.status + "; cannot renew");
        }
        GMPKI_ASSIGN_OR_RETURN(const Profile* profile, FindProfile(old.profile));
        GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(old.der));
        GMPKI_ASSIGN_OR_RETURN(auto issuer, LoadIssuer(tx, ca));
        IssueRequest req;
        req.ca = ca;
        req.profile = old.profile;
        req.validity_days = validity_days;
        req.request_key = request_key;
        GMPKI_ASSIGN_OR_RETURN(req.identity, IdentityOf(cert));
        GMPKI_ASSIGN_OR_RETURN(auto p, PrepareIssue(issuer, *profile, cert.subject(), cert.public_key(), req, actor.name));
        GMPKI_RETURN_IF_ERROR(StoreIssued(tx, p, ev));
        return IssuedCertificate{std::move(p.record), std::move(p.pem)};
      });
}

Result<IssuedCertificate> CaService::Rekey(const Actor& actor, const std::string& ca,
                                           const std::string& serial, ByteView csr_bytes) {
  auto csr = x509::CertificateRequest::Parse(csr_bytes);
  Status pop = csr.ok() ? csr->VerifyProofOfPossession() : Status(csr.error());
  return RekeyChecked(actor, ca, serial, pop, csr.ok() ? &*csr : nullptr, nullptr, nullptr);
}

Result<IssuedCertificate> CaService::RekeyVerifiedKey(const Actor& actor, const std::string& ca,
                                                      const std::string& serial,
                                                      const x509::Name& subject,
                                                      const crypto::Sm2PublicKey& key) {
  return RekeyChecked(actor, ca, serial, OkStatus(), nullptr, &subject, &key);
}

Result<IssuedCertificate> CaService::RekeyChecked(const Actor& actor, const std::string& ca,
                                                  const std::string& serial, const Status& pop,
                                                  const x509::CertificateRequest* csr_in,
                                                  const x509::Name* subject_in,
                                                  const crypto::Sm2PublicKey* key_in) {
  return Audited<IssuedCertificate>(
      actor, "cert.rekey", "cert:" + ca + "/" + serial, Permission::kCertIssue,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<IssuedCertificate> {
        GMPKI_ASSIGN_OR_RETURN(auto sn, SerialArg(serial));
        GMPKI_RETURN_IF_ERROR(pop);
        const x509::Name& new_subject = csr_in ? csr_in->subject() : *subject_in;
        const crypto::Sm2PublicKey& new_key = csr_in ? csr_in->public_key() : *key_in;
        GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kCertColumns +
                                                     " FROM certificates WHERE ca = ? AND serial_hex = ?",
                                                     {ca, sn}));
        if (!row) return Error(ErrorCode::kNotFound, "no certificate " + sn + " issued by CA '" + ca + "'");
        GMPKI_ASSIGN_OR_RETURN(auto old, RowToCert(*row));
        if (old.status != "good") {
          return Error(ErrorCode::kConflict, "certificate " + sn + " is " + old.status + "; cannot re-key");
        }
        GMPKI_ASSIGN_OR_RETURN(auto old_cert, x509::Certificate::FromDer(old.der));
        if (!(new_subject == old_cert.subject())) {
          return Error(ErrorCode::kPolicyViolation, "re-key must keep the subject of the old certificate");
        }
        if (new_key == old_cert.public_key()) {
          return Error(ErrorCode::kPolicyViolation, "re-key needs a new key; use renew to keep the key");
        }
        GMPKI_ASSIGN_OR_RETURN(const Profile* profile, FindProfile(old.profile));
        GMPKI_ASSIGN_OR_RETURN(auto issuer, LoadIssuer(tx, ca));
        IssueRequest req;
        req.ca = ca;
        req.profile = old.profile;
        GMPKI_ASSIGN_OR_RETURN(req.identity, IdentityOf(old_cert));
        GMPKI_ASSIGN_OR_RETURN(auto p, PrepareIssue(issuer, *profile, new_subject, new_key, req, actor.name));
        GMPKI_RETURN_IF_ERROR(StoreIssued(tx, p, ev));
        IssuedCertificate issued{std::move(p.record), std::move(p.pem)};
        GMPKI_ASSIGN_OR_RETURN(auto crl_row, tx.QueryOne("SELECT crl_number FROM cas WHERE name = ?", {ca}));
        GMPKI_RETURN_IF_ERROR(tx.Exec(
            "UPDATE certificates SET status = 'revoked', reason = ?, revoked_unix = ?, status_crl = ?"
            " WHERE ca = ? AND serial_hex = ?",
            {std::int64_t{static_cast<int>(x509::RevocationReason::kSuperseded)},
             ToUnixSeconds(clock_.Now()), crl_row->Int(0), ca, sn}));
        return issued;
      });
}

Status CaService::ChangeStatus(const Actor& actor, const std::string& ca, const std::string& serial,
                               const std::string& action, x509::RevocationReason reason) {
  auto r = Audited<bool>(
      actor, action, "cert:" + ca + "/" + serial, Permission::kCertRevoke,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<bool> {
        GMPKI_ASSIGN_OR_RETURN(auto sn, SerialArg(serial));
        ev.object = "cert:" + ca + "/" + sn;
        GMPKI_ASSIGN_OR_RETURN(auto ca_row, tx.QueryOne("SELECT crl_number FROM cas WHERE name = ?", {ca}));
        if (!ca_row) return Error(ErrorCode::kNotFound, "no CA named '" + ca + "'");
        GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT status, reason FROM certificates WHERE"
                                                     " ca = ? AND serial_hex = ?",
                                                     {ca, sn}));
        if (!row) return Error(ErrorCode::kNotFound, "no certificate " + sn + " issued by CA '" + ca + "'");
        const std::string status = row->Text(0);
        std::string next;
        std::int64_t code = static_cast<int>(reason);
        if (action == "cert.revoke") {
          if (status == "revoked") return Error(ErrorCode::kConflict, "certificate " + sn + " is already revoked");
          if (reason == x509::RevocationReason::kCertificateHold ||
              reason == x509::RevocationReason::kRemoveFromCrl) {
            return Error(ErrorCode::kInvalidArgument,
                         "reason " + std::string(x509::RevocationReasonName(reason)) +
                             " is not a revocation; use hold / release");
          }
          next = "revoked";
        } else if (action == "cert.hold") {
          if (status != "good") {
            return Error(ErrorCode::kConflict, "certificate " + sn + " is " + status + "; only a good certificate can be held");
          }
          next = "hold";
          code = static_cast<int>(x509::RevocationReason::kCertificateHold);
        } else {
          if (status != "hold") return Error(ErrorCode::kConflict, "certificate " + sn + " is not on hold");
          next = "good";
          // RFC 5280 §5.3.1: a delta CRL lists a released certificate as removeFromCRL.
          code = static_cast<int>(x509::RevocationReason::kRemoveFromCrl);
        }
        GMPKI_RETURN_IF_ERROR(tx.Exec(
            "UPDATE certificates SET status = ?, reason = ?, revoked_unix = ?, status_crl = ?"
            " WHERE ca = ? AND serial_hex = ?",
            {next, code, ToUnixSeconds(clock_.Now()), ca_row->Int(0), ca, sn}));
        GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO outbox (topic, payload, created_unix) VALUES (?, ?, ?)",
                                      {std::string("cert.status"),
                                       nlohmann::json{{"ca", ca}, {"serial", sn}, {"status", next}}.dump(),
                                       ToUnixSeconds(clock_.Now())}));
        ev.detail = nlohmann::json{{"reason", x509::RevocationReasonName(static_cast<x509::RevocationReason>(code))},
                                   {"from", status}, {"to", next}}
                        .dump();
        return true;
      });
  if (!r.ok()) return r.error();
  return OkStatus();
}

Status CaService::Revoke(const Actor& actor, const std::string& ca, const std::string& serial,
                         x509::RevocationReason reason) {
  GMPKI_RETURN_IF_ERROR(ChangeStatus(actor, ca, serial, "cert.revoke", reason));
  // The revocation is durable here; the KM hears of it now or, if it is unreachable, from the
  // server's periodic ForwardKmRevocations (the outbox row is the durable record).
  if (km_) (void)ForwardKmRevocations();
  return OkStatus();
}
Status CaService::RevokeOnce(const Actor& actor, const std::string& ca, const std::string& serial,
                             x509::RevocationReason reason) {
  Status st = Revoke(actor, ca, serial, reason);
  if (!st.ok() && st.error().code() == ErrorCode::kConflict) {
    auto rec = GetCertificate(actor, ca, serial);
    if (rec.ok() && rec->status == "revoked" && rec->revocation_reason &&
        *rec->revocation_reason == static_cast<int>(reason)) {
      return OkStatus();
    }
  }
  return st;
}

Status CaService::Hold(const Actor& actor, const std::string& ca, const std::string& serial) {
  return ChangeStatus(actor, ca, serial, "cert.hold", x509::RevocationReason::kCertificateHold);
}
Status CaService::Release(const Actor& actor, const std::string& ca, const std::string& serial) {
  return ChangeStatus(actor, ca, serial, "cert.release", x509::RevocationReason::kRemoveFromCrl);
}

Result<CertRecord> CaService::GetCertificate(const Actor& actor, const std::string& ca,
                                             const std::string& serial) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kCertRead));
  GMPKI_ASSIGN_OR_RETURN(auto sn, SerialArg(serial));
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row, tx->QueryOne(std::string("SELECT ") + kCertColumns +
                                                " FROM certificates WHERE ca = ? AND serial_hex = ?",
                                                {ca, sn}));
  if (!row) return Error(ErrorCode::kNotFound, "no certificate " + sn + " issued by CA '" + ca + "'");
  return RowToCert(*row);
}

Result<std::vector<CertRecord>> CaService::Search(const Actor& actor, const CertQuery& q) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(actor, Permission::kCertRead));
  if (q.limit < 1 || q.limit > 1000) return Error(ErrorCode::kInvalidArgument, "limit must be 1..1000");
  if (q.offset < 0) return Error(ErrorCode::kInvalidArgument, "offset must be >= 0");
  std::string sql = std::string("SELECT ") + kCertColumns + " FROM certificates WHERE 1 = 1";
  std::vector<store::Value> params;
  if (q.ca) { sql += " AND ca = ?"; params.push_back(*q.ca); }
  if (q.status) {
    if (*q.status != "good" && *q.status != "revoked" && *q.status != "hold") {
      return Error(ErrorCode::kInvalidArgument, "status must be good, revoked or hold");
    }
    sql += " AND status = ?";
    params.push_back(*q.status);
  }
  if (q.profile) { sql += " AND profile = ?"; params.push_back(*q.profile); }
  if (q.subject_contains) {
    // instr() exists in SQLite; strpos() in PostgreSQL: LIKE with escaping works on both.
    std::string pat = "%";
    for (char c : *q.subject_contains) {
      if (c == '%' || c == '_' || c == '\\') pat += '\\';
      pat += c;
    }
    pat += "%";
    sql += " AND subject LIKE ? ESCAPE '\\'";
    params.push_back(pat);
  }
  sql += " ORDER BY issued_unix DESC, serial_hex LIMIT " + std::to_string(q.limit) + " OFFSET " +
         std::to_string(q.offset);
  GMPKI_ASSIGN_OR_RETURN(auto tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto rows, tx->Query(sql, params));
  std::vector<CertRecord> out;
  for (const auto& r : rows) {
    GMPKI_ASSIGN_OR_RETURN(auto c, RowToCert(r));
    out.push_back(std::move(c));
  }
  return out;
}

Result<Bytes> CaService::Export(const Actor& actor, const std::string& ca, const std::string& serial,
                                bool chain, ExportFormat format) {
  GMPKI_ASSIGN_OR_RETURN(auto rec, GetCertificate(actor, ca, serial));
  GMPKI_ASSIGN_OR_RETURN(auto leaf, x509::Certificate::FromDer(rec.der));
  std::vector<x509::Certificate> certs{leaf};
  if (chain) {
    GMPKI_ASSIGN_OR_RETURN(auto up, CaChain(ca));
    for (auto& c : up) certs.push_back(std::move(c));
  }
  switch (format) {
    case ExportFormat::kPem:
      return ToBytes(x509::CertificatesToPem(certs));
    case ExportFormat::kDer:
      if (chain) {
        return Error(ErrorCode::kInvalidArgument, "DER holds one certificate; use PEM or PKCS#7 for a chain");
      }
      return leaf.der();
    case ExportFormat::kPkcs7Der:
      return x509::BuildCertsOnlyPkcs7(certs);
    case ExportFormat::kPkcs7Pem: {
      GMPKI_ASSIGN_OR_RETURN(auto pem, x509::BuildCertsOnlyPkcs7Pem(certs));
      return ToBytes(pem);
    }
  }
  return Error(ErrorCode::kInvalidArgument, "unknown export format");
}

}  // namespace gmpki::ca
