// The CA hierarchy (HI-01, LD/T 02.1 §7.3.2): roots for test and demo deployments, the
// two-step import of the national root and the certificate it issued to the industry CA,
// subordinate (business) CAs, and the certificate trust list.
#include <chrono>

#include "services/ca/ca_internal.h"
#include "x509/chain.h"
#include "x509/csr.h"
#include "x509/ctl.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/pem.h"

namespace gmpki::ca {
namespace {

using services::Actor;
using services::Permission;

Status CheckCaName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, "CA name must be 1..64 characters");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return Error(ErrorCode::kInvalidArgument,
                   "CA name '" + name + "' may hold only letters, digits, '-' and '_'");
    }
  }
  return OkStatus();
}

std::string KeyLabel(const std::string& ca) { return "ca:" + ca; }

Result<std::vector<x509::Extension>> CaExtensions(const crypto::Sm2PublicKey& subject_key,
                                                  const crypto::Sm2PublicKey& issuer_key,
                                                  std::optional<int> path_len,
                                                  const std::string& crl_url) {
  std::vector<x509::Extension> ext;
  ext.push_back(x509::ext::BasicConstraints(true, path_len));
  GMPKI_ASSIGN_OR_RETURN(auto ku, x509::ext::KeyUsage(x509::kKeyCertSign | x509::kCrlSign |
                                                      x509::kDigitalSignature));
  ext.push_back(std::move(ku));
  ext.push_back(x509::ext::SubjectKeyIdentifier(x509::KeyIdentifierFor(subject_key)));
  ext.push_back(x509::ext::AuthorityKeyIdentifier(x509::KeyIdentifierFor(issuer_key)));
  if (!crl_url.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto dp, x509::ext::CrlDistributionPoints({crl_url}));
    ext.push_back(std::move(dp));
  }
  return ext;
}

std::optional<int> PathLenFor(const std::string& kind) {
  if (kind == "business") return 0;  // issues end-entity certificates only
  return std::nullopt;               // root and industry CA: unconstrained below
}

}  // namespace

Result<CaRecord> CaService::CreateCaWithin(store::Transaction& tx, const Actor& actor,
                                           const std::string& name, const std::string& subject_dn,
                                           const std::string& kind, const std::string& parent,
                                           int validity_days, audit::AuditEvent& event) {
  GMPKI_RETURN_IF_ERROR(CheckCaName(name));
  if (validity_days < 1 || validity_days > 36500) {
    return Error(ErrorCode::kInvalidArgument, "validity must be 1..36500 days");
  }
  GMPKI_ASSIGN_OR_RETURN(auto subject, x509::Name::Parse(subject_dn));
  if (subject.empty()) return Error(ErrorCode::kInvalidArgument, "a CA subject must not be empty");
  GMPKI_ASSIGN_OR_RETURN(auto existing, tx.QueryOne("SELECT name FROM cas WHERE name = ?", {name}));
  if (existing) return Error(ErrorCode::kAlreadyExists, "a CA named '" + name + "' exists");

  std::optional<Loaded> issuer;
  int depth = 0;
  if (!parent.empty()) {
    GMPKI_ASSIGN_OR_RETURN(auto l, LoadIssuer(tx, parent));
    if (l.cert->path_len() && *l.cert->path_len() == 0) {
      return Error(ErrorCode::kPolicyViolation,
                   "CA '" + parent + "' has pathLen 0 and may not certify another CA");
    }
    depth = l.record.depth + 1;
    issuer = std::move(l);
  }
  auto now = clock_.Now();
  TimePoint not_after = now + std::chrono::days(validity_days);
  if (issuer && not_after > issuer->cert->not_after()) {
    return Error(ErrorCode::kPolicyViolation,
                 "a subordinate CA may not outlive its issuer (issuer expires earlier)");
  }

  // The key pair is generated inside the device (SDF_GenerateKeyPair_ECC) and never leaves it.
  GMPKI_ASSIGN_OR_RETURN(auto session_u, device_.OpenSession());
  std::shared_ptr<device::Session> session(std::move(session_u));
  auto key = session->GenerateKeyPair(KeyLabel(name), device::KeyPurpose::kSign);
  if (!key.ok()) {
    if (key.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists,
                   "the device already holds a key labelled '" + KeyLabel(name) + "'");
    }
    return key.error();
  }
  auto destroy_on_failure = [&](const Error& e) -> Error {
    (void)session->DestroyKey(key->index);  // the transaction rolls back; drop the orphan key
    return e;
  };
  x509::Signer self = DeviceSigner(session, key->index, key->public_key);
  const x509::Signer& signer = issuer ? issuer->signer : self;
  std::string crl_url = issuer ? settings_.public_base_url + "/crl/" + parent + ".crl" : "";
  auto exts = CaExtensions(key->public_key, signer.public_key, PathLenFor(kind), crl_url);
  if (!exts.ok()) return destroy_on_failure(exts.error());
  auto serial = x509::GenerateSerial();
  if (!serial.ok()) return destroy_on_failure(serial.error());
  x509::TbsSpec spec;
  spec.serial = *serial;
  spec.issuer = issuer ? issuer->cert->subject() : subject;
  spec.subject = subject;
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = not_after;
  spec.subject_public_key = key->public_key;
  spec.extensions = std::move(*exts);
  auto der = x509::IssueCertificate(spec, signer);
  if (!der.ok()) return destroy_on_failure(der.error());
  auto cert = x509::Certificate::FromDer(*der);
  if (!cert.ok()) return destroy_on_failure(cert.error());

  CaRecord rec;
  rec.name = name;
  rec.parent = parent;
  rec.depth = depth;
  rec.kind = kind;
  rec.status = "active";
  rec.key_label = KeyLabel(name);
  rec.cert_der = *der;
  rec.subject = subject.ToRfc4514();
  rec.serial_hex = cert->serial_hex();
  rec.not_before = ToUnixSeconds(cert->not_before());
  rec.not_after = ToUnixSeconds(cert->not_after());
  auto ins = tx.Exec(
      "INSERT INTO cas (name, parent, depth, kind, status, external, key_label, cert_der, subject,"
      " serial_hex, not_before, not_after, created_unix) VALUES (?, ?, ?, ?, 'active', 0, ?, ?, ?,"
      " ?, ?, ?, ?)",
      {name, parent.empty() ? store::Value(store::Null{}) : store::Value(parent),
       std::int64_t{depth}, kind, rec.key_label, rec.cert_der, rec.subject, rec.serial_hex,
       rec.not_before, rec.not_after, ToUnixSeconds(now)});
  if (!ins.ok()) return destroy_on_failure(ins.error());
  if (issuer) {
    // The subordinate CA certificate is also a certificate of its issuer, so it can be listed,
    // exported and revoked like any other.
    auto ins2 = tx.Exec(
        "INSERT INTO certificates (ca, serial_hex, subject, profile, status, not_before, not_after,"
        " issued_unix, requested_by, key_id, der) VALUES (?, ?, ?, ?, 'good', ?, ?, ?, ?, ?, ?)",
        {parent, rec.serial_hex, rec.subject, kind == "business" ? "business-ca" : "industry-ca",
         rec.not_before, rec.not_after, ToUnixSeconds(now), actor.name,
         HexEncode(x509::KeyIdentifierFor(key->public_key)), rec.cert_der});
    if (!ins2.ok()) return destroy_on_failure(ins2.error());
  }
  event.detail = nlohmann::json{{"kind", kind},
                                {"parent", parent},
                                {"subject", rec.subject},
                                {"serial", rec.serial_hex},
                                {"key_label", rec.key_label}}
                     .dump();
  return rec;
}

Result<CaRecord> CaService::CreateRoot(const Actor& actor, const std::string& name,
                                       const std::string& subject_dn, int validity_days) {
  return Audited<CaRecord>(actor, "ca.create", "ca:" + name, Permission::kCaCreate,
                           [&](store::Transaction& tx, audit::AuditEvent& ev) {
                             return CreateCaWithin(tx, actor, name, subject_dn, "root", "",
                                                   validity_days, ev);
                           });
}

Result<CaRecord> CaService::CreateSubordinate(const Actor& actor, const std::string& parent,
                                              const std::string& name,
                                              const std::string& subject_dn,
                                              const std::string& kind, int validity_days) {
  return Audited<CaRecord>(
      actor, "ca.create", "ca:" + name, Permission::kCaCreate,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<CaRecord> {
        if (kind != "industry" && kind != "business") {
          return Error(ErrorCode::kInvalidArgument,
                       "subordinate CA kind must be 'industry' or 'business'");
        }
        if (parent.empty()) return Error(ErrorCode::kInvalidArgument, "a parent CA is required");
        return CreateCaWithin(tx, actor, name, subject_dn, kind, parent, validity_days, ev);
      });
}

Result<std::string> CaService::RequestExternalCertificate(const Actor& actor,
                                                          const std::string& name,
                                                          const std::string& subject_dn) {
  return Audited<std::string>(
      actor, "ca.request", "ca:" + name, Permission::kCaCreate,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<std::string> {
        GMPKI_RETURN_IF_ERROR(CheckCaName(name));
        GMPKI_ASSIGN_OR_RETURN(auto subject, x509::Name::Parse(subject_dn));
        if (subject.empty()) return Error(ErrorCode::kInvalidArgument, "subject must not be empty");
        GMPKI_ASSIGN_OR_RETURN(auto existing,
                               tx.QueryOne("SELECT name FROM cas WHERE name = ?", {name}));
        if (existing) return Error(ErrorCode::kAlreadyExists, "a CA named '" + name + "' exists");
        GMPKI_ASSIGN_OR_RETURN(auto session_u, device_.OpenSession());
        std::shared_ptr<device::Session> session(std::move(session_u));
        GMPKI_ASSIGN_OR_RETURN(auto key, session->GenerateKeyPair(KeyLabel(name),
                                                                  device::KeyPurpose::kSign));
        auto signer = DeviceSigner(session, key.index, key.public_key);
        // Anything failing after the key exists removes it again: the transaction rolls back,
        // and an orphan key must not stay behind in the device.
        auto fail = [&](const Error& e) -> Error {
          (void)session->DestroyKey(key.index);
          return e;
        };
        auto csr = x509::BuildCsr(subject, signer);
        if (!csr.ok()) return fail(csr.error());
        auto ins = tx.Exec("INSERT INTO cas (name, depth, kind, status, external, key_label, subject,"
                           " created_unix) VALUES (?, 1, 'industry', 'pending', 0, ?, ?, ?)",
                           {name, KeyLabel(name), subject.ToRfc4514(), ToUnixSeconds(clock_.Now())});
        if (!ins.ok()) return fail(ins.error());
        ev.detail = nlohmann::json{{"subject", subject.ToRfc4514()}}.dump();
        return x509::PemEncode(x509::kPemCsr, *csr);
      });
}

Result<CaRecord> CaService::ImportExternalCertificate(const Actor& actor, const std::string& name,
                                                      const std::string& root_name,
                                                      ByteView root_cert, ByteView ca_cert) {
  return Audited<CaRecord>(
      actor, "ca.import", "ca:" + name, Permission::kCaCreate,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<CaRecord> {
        GMPKI_RETURN_IF_ERROR(CheckCaName(root_name));
        GMPKI_ASSIGN_OR_RETURN(auto root, x509::Certificate::Parse(root_cert));
        GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::Parse(ca_cert));
        if (!root.is_ca() || !root.IsSelfIssued()) {
          return Error(ErrorCode::kPolicyViolation, "the root certificate is not a self-signed CA");
        }
        GMPKI_RETURN_IF_ERROR(x509::VerifyCertificateSignature(root, root.public_key()));
        if (!cert.is_ca()) {
          return Error(ErrorCode::kPolicyViolation, "the imported certificate is not a CA certificate");
        }
        x509::ChainOptions opts;
        opts.at = clock_.Now();
        GMPKI_RETURN_IF_ERROR(x509::VerifyChain(cert, {}, {root}, opts));
        GMPKI_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kCaColumns +
                                                     " FROM cas WHERE name = ?",
                                                     {name}));
        if (!row) return Error(ErrorCode::kNotFound, "no pending CA named '" + name + "'");
        GMPKI_ASSIGN_OR_RETURN(auto rec, RowToCa(*row));
        if (rec.status != "pending") {
          return Error(ErrorCode::kConflict, "CA '" + name + "' is " + rec.status + ", not pending");
        }
        GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
        GMPKI_ASSIGN_OR_RETURN(auto key, session->FindKey(rec.key_label));
        if (!(key.public_key == cert.public_key())) {
          return Error(ErrorCode::kPolicyViolation,
                       "the certificate does not certify the key generated for CA '" + name + "'");
        }
        GMPKI_ASSIGN_OR_RETURN(auto existing_root, tx.QueryOne("SELECT cert_der FROM cas WHERE "
                                                               "name = ?",
                                                               {root_name}));
        if (existing_root) {
          if (existing_root->Blob(0) != root.der()) {
            return Error(ErrorCode::kAlreadyExists,
                         "a different CA named '" + root_name + "' exists");
          }
        } else {
          GMPKI_RETURN_IF_ERROR(tx.Exec(
              "INSERT INTO cas (name, depth, kind, status, external, cert_der, subject, serial_hex,"
              " not_before, not_after, created_unix) VALUES (?, 0, 'national-root', 'active', 1, ?,"
              " ?, ?, ?, ?, ?)",
              {root_name, root.der(), root.subject().ToRfc4514(), root.serial_hex(),
               ToUnixSeconds(root.not_before()), ToUnixSeconds(root.not_after()),
               ToUnixSeconds(clock_.Now())}));
        }
        GMPKI_RETURN_IF_ERROR(tx.Exec(
            "UPDATE cas SET parent = ?, depth = 1, status = 'active', cert_der = ?, subject = ?,"
            " serial_hex = ?, not_before = ?, not_after = ? WHERE name = ?",
            {root_name, cert.der(), cert.subject().ToRfc4514(), cert.serial_hex(),
             ToUnixSeconds(cert.not_before()), ToUnixSeconds(cert.not_after()), name}));
        rec.parent = root_name;
        rec.status = "active";
        rec.cert_der = cert.der();
        rec.subject = cert.subject().ToRfc4514();
        rec.serial_hex = cert.serial_hex();
        rec.not_before = ToUnixSeconds(cert.not_before());
        rec.not_after = ToUnixSeconds(cert.not_after());
        ev.detail = nlohmann::json{{"root", root.subject().ToRfc4514()},
                                   {"root_fingerprint", root.fingerprint_hex()},
                                   {"serial", rec.serial_hex}}
                        .dump();
        return rec;
      });
}

Result<Bytes> CaService::IssueCtl(const Actor& actor, const std::string& ca, int validity_days) {
  return Audited<Bytes>(
      actor, "ctl.issue", "ca:" + ca, Permission::kCtlIssue,
      [&](store::Transaction& tx, audit::AuditEvent& ev) -> Result<Bytes> {
        if (validity_days < 1 || validity_days > 3650) {
          return Error(ErrorCode::kInvalidArgument, "CTL validity must be 1..3650 days");
        }
        GMPKI_ASSIGN_OR_RETURN(auto issuer, LoadIssuer(tx, ca));
        GMPKI_ASSIGN_OR_RETURN(auto n, tx.Exec("UPDATE cas SET ctl_seq = ctl_seq + 1 WHERE name = ?",
                                               {ca}));
        (void)n;
        GMPKI_ASSIGN_OR_RETURN(auto seq_row, tx.QueryOne("SELECT ctl_seq FROM cas WHERE name = ?", {ca}));
        GMPKI_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT cert_der FROM cas WHERE status = 'active'"
                                                   " AND cert_der IS NOT NULL ORDER BY depth, name"));
        x509::CtlSpec spec;
        spec.sequence_number = static_cast<std::uint64_t>(seq_row->Int(0));
        spec.this_update = clock_.Now();
        spec.next_update = spec.this_update + std::chrono::days(validity_days);
        spec.issuer = issuer.cert->subject();
        for (const auto& r : rows) {
          GMPKI_ASSIGN_OR_RETURN(auto c, x509::Certificate::FromDer(r.Blob(0)));
          spec.trusted.push_back({std::move(c), {}});
        }
        GMPKI_ASSIGN_OR_RETURN(auto der, x509::BuildCtl(spec, issuer.signer));
        GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO ctls (ca, seq, this_update, der) VALUES (?, ?, ?, ?)",
                                      {ca, static_cast<std::int64_t>(spec.sequence_number),
                                       ToUnixSeconds(spec.this_update), der}));
        ev.detail = nlohmann::json{{"sequence", spec.sequence_number},
                                   {"trusted", spec.trusted.size()}}
                        .dump();
        return der;
      });
}

}  // namespace gmpki::ca
