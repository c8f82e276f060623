// The certificate authority service (LD/T 02.1 §7.3.2; HI-01, CA-02, CA-03, CA-04): the CA
// hierarchy (root or imported national root -> industry CA -> business CAs), certificate
// issuance from PKCS#10, renewal, re-key, revocation with reason, hold and release, full and
// delta CRLs, search and export, and the signed certificate trust list (CTL).
//
// Every operation: authorise the actor (services/core/roles.h) -> validate all input -> sign
// in the crypto device -> one database transaction that stores the result AND its audit record
// (audit/audit.h), so a failed audit write means the operation did not happen (CC-FAU). A
// refused operation changes nothing and is itself audited with outcome failure.
//
// Thread safety: thread-safe; each call opens its own device session and transaction.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "base/clock.h"
#include "device/device.h"
#include "services/ca/km_gateway.h"
#include "services/ca/profiles.h"
#include "services/core/roles.h"
#include "store/group_commit.h"
#include "store/store.h"
#include "x509/certificate.h"
#include "x509/crl.h"
#include "x509/csr.h"

namespace gmpki::ca {

// Migrations 200..299 are reserved for the CA.
std::vector<store::Migration> CaMigrations();

struct CaSettings {
  std::string node = "node-1";
  std::string public_base_url = "http://127.0.0.1:8080";  // CRL DP: <url>/crl/<ca>.crl
  int crl_validity_hours = 24;
  // Partitioned CRLs (RFC 5280 §5.2.5, src/services/ca/README.md "CRL partitions"). 0: every
  // certificate names the CA's full CRL. N > 0: end-entity certificates are assigned, in issue
  // order, to partitions of about N certificates; a certificate's cRLDistributionPoints names
  // <public_base_url>/crl/<ca>-p<partition>.crl, whose CRL lists only that partition. CA
  // certificates always name the parent's full CRL, which keeps listing every certificate.
  std::int64_t crl_partition_size = 0;
  // The OCSP responder named in issued certificates' authorityInfoAccess (id-ad-ocsp); empty:
  // none (caIssuers only). Not in OCSP signing certificates (ocsp-nocheck, RFC 6960 §4.2.2.2.1).
  std::string ocsp_url;
};

// PERSISTENT values of cas.status: "active", "pending" (key generated, certificate awaited from
// an external root), "revoked", "disabled".
struct CaRecord {
  std::string name;
  std::string parent;  // empty for a root
  int depth = 0;       // root = 0
  std::string kind;    // "root" | "national-root" | "industry" | "business"
  std::string status;
  bool external = false;     // imported certificate without a key in our device
  std::string key_label;     // device key label, empty when external
  Bytes cert_der;            // empty while pending
  std::string subject;       // RFC 4514
  std::string serial_hex;
  std::int64_t not_before = 0, not_after = 0;
};

// PERSISTENT values of certificates.status: "good", "revoked", "hold".
struct CertRecord {
  std::string ca;
  std::string serial_hex;  // upper-case
  std::string subject;
  std::string profile;
  std::string status;
  std::optional<int> revocation_reason;
  std::optional<std::int64_t> revoked_unix;
  std::int64_t not_before = 0, not_after = 0;
  std::int64_t issued_unix = 0;
  std::string requested_by;
  Bytes der;
};

struct IdentityAttributes {
  std::optional<std::string> resident_id;        // IdentifyCode residenterCardNumber
  std::optional<std::string> passport;           // IdentifyCode passportNumber
  std::optional<std::string> insurance_number;   // InsuranceNumber
  std::optional<std::string> organization_code;  // OrganizationCode
  std::optional<std::string> uscc;               // UnifiedSocialCreditCode
  std::optional<std::string> ic_registration;    // ICRegistrationNumber
  std::optional<std::string> tax_number;         // TaxationNumber
};

struct IssueRequest {
  std::string ca;
  std::string profile;
  Bytes csr;  // PEM or DER PKCS#10
  std::optional<int> validity_days;
  IdentityAttributes identity;
  std::vector<std::string> emails;     // subjectAltName
  std::vector<std::string> dns_names;  // subjectAltName
  // Idempotency key (at most 160 characters), unique per CA across all certificates: a second
  // Issue with a key already used returns the certificate first issued under it (and issues
  // nothing), provided the same public key and profile were asked for; otherwise kConflict.
  // Registration systems use "ra:<ra-name>:<request-id>".
  std::string request_key;
};

struct IssuedCertificate {
  CertRecord record;
  std::string pem;
};

struct CertQuery {
  std::optional<std::string> ca;
  std::optional<std::string> subject_contains;
  std::optional<std::string> status;
  std::optional<std::string> profile;
  int limit = 100;  // 1..1000
  int offset = 0;
};

enum class ExportFormat { kPem, kDer, kPkcs7Der, kPkcs7Pem };

struct CrlResult {
  std::optional<std::int64_t> partition;  // set for a partition's CRL
  std::uint64_t number = 0;
  std::optional<std::uint64_t> delta_base;
  std::size_t entries = 0;
  Bytes der;
  // PEM of `der`, made on demand: a CRL of a million entries is 44 MB, and most callers (the
  // scheduler, the HTTP distribution point) want only the DER.
  std::string Pem() const;
};

// What RefreshCrls does (README "CRL schedule").
struct CrlRefreshPolicy {
  // A CA's full CRL is re-issued once less than this fraction of crl_validity_hours is left
  // before its nextUpdate (0.5: every half validity period), so relying parties always find a
  // current one even if a few ticks fail.
  double refresh_fraction = 0.5;
  // After a revocation, hold or release: a CA listing at most this many certificates gets a new
  // full CRL at once (cheap: 100,000 entries sign in ~15 ms); a larger one gets a delta CRL
  // against its current full CRL, and partitions are re-issued per partition.
  std::int64_t full_on_change_max_entries = 100'000;
  bool delta_crls = true;
};
struct CrlRefreshReport {
  std::vector<CrlResult> issued;
  std::vector<std::pair<std::string, Error>> failures;  // per CA: retried at the next call
};
// Dual-certificate issuance (KM): the encryption certificate paired with a signing certificate.
struct EncryptionIssueRequest {
  std::string ca;
  std::string sign_serial;  // the subscriber's good signing certificate at this CA
  std::string profile;      // an encryption profile (personal-enc, organization-enc, device-enc)
  std::optional<int> validity_days;
  // As IssueRequest::request_key; empty: "enc:<sign serial>" (one encryption certificate per
  // signing certificate unless the caller names another key).
  std::string request_key;
  // Re-key: the encryption certificate this one replaces; revoked (superseded) once the new one
  // is issued, and with it its key at the KM.
  std::string replaces_serial;
};

struct DualIssued {
  IssuedCertificate certificate;
  KmKeyDelivery delivery;
};

class CaService {
 public:
  CaService(store::Database& db, device::CryptoDevice& device, const Clock& clock,
            CaSettings settings);

  // --- hierarchy (Permission kCaCreate) ---
  // A self-signed root for test and demo deployments. kAlreadyExists for a used name.
  Result<CaRecord> CreateRoot(const services::Actor& actor, const std::string& name,
                              const std::string& subject_dn, int validity_days);
  // A subordinate CA issued by `parent` (kind "industry" or "business"); path length and
  // profile follow the kind. The parent must be active, hold its key and outlive the child.
  Result<CaRecord> CreateSubordinate(const services::Actor& actor, const std::string& parent,
                                     const std::string& name, const std::string& subject_dn,
                                     const std::string& kind, int validity_days);
  // Step 1 of joining the national system: the industry CA's key is generated in the device,
  // the CA is stored as "pending" and its PKCS#10 request (PEM) is returned for the national
  // root to sign.
  Result<std::string> RequestExternalCertificate(const services::Actor& actor,
                                                 const std::string& name,
                                                 const std::string& subject_dn);
  // Step 2: imports the national root certificate (as CA `root_name`, external, depth 0) and the
  // certificate it issued to the pending CA `name`. Checks: the root is a self-signed CA whose
  // signature verifies, the CA certificate chains to it under the GM/T rule, is a CA
  // certificate, and certifies exactly the key held in the device for `name`.
  Result<CaRecord> ImportExternalCertificate(const services::Actor& actor, const std::string& name,
                                             const std::string& root_name, ByteView root_cert,
                                             ByteView ca_cert);
  Result<std::vector<CaRecord>> ListCas(const services::Actor& actor);
  Result<CaRecord> GetCa(const std::string& name);
  // The CA's chain, the CA first and the root last.
  Result<std::vector<x509::Certificate>> CaChain(const std::string& name);

  // --- certificates ---
  Result<IssuedCertificate> Issue(const services::Actor& actor, const IssueRequest& request);
  // For protocols that verify proof of possession themselves (CMP's CRMF POPO, RFC 4211 §4):
  // Issue / Rekey for a subject and public key without a PKCS#10 request (request.csr unused).
  // REQUIRES: the caller verified possession of the private key of `key`.
  Result<IssuedCertificate> IssueVerifiedKey(const services::Actor& actor, const IssueRequest& request,
                                             const x509::Name& subject,
                                             const crypto::Sm2PublicKey& key);
  Result<IssuedCertificate> RekeyVerifiedKey(const services::Actor& actor, const std::string& ca,
                                             const std::string& serial_hex,
                                             const x509::Name& subject,
                                             const crypto::Sm2PublicKey& key);
  // Same subject, key, profile; a new serial and validity. The old certificate stays valid.
  // `request_key` as in IssueRequest: a repeated renewal with the same key returns the first
  // renewed certificate.
  Result<IssuedCertificate> Renew(const services::Actor& actor, const std::string& ca,
                                  const std::string& serial_hex, std::optional<int> validity_days,
                                  const std::string& request_key = "");
  // A new key for the same subject and profile; the old certificate is revoked (superseded).
  Result<IssuedCertificate> Rekey(const services::Actor& actor, const std::string& ca,
                                  const std::string& serial_hex, ByteView csr);
  // kNotFound for an unknown serial; kConflict when already revoked; reason certificateHold and
  // removeFromCRL are refused here (use Hold / Release).
  Status Revoke(const services::Actor& actor, const std::string& ca, const std::string& serial_hex,
                x509::RevocationReason reason);
  // Revoke for callers that may send the same revocation twice (a registration system retrying
  // after a lost answer): a certificate already revoked for the same reason is success.
  Status RevokeOnce(const services::Actor& actor, const std::string& ca,
                    const std::string& serial_hex, x509::RevocationReason reason);
  Status Hold(const services::Actor& actor, const std::string& ca, const std::string& serial_hex);
  Status Release(const services::Actor& actor, const std::string& ca, const std::string& serial_hex);
  Result<CertRecord> GetCertificate(const services::Actor& actor, const std::string& ca,
                                    const std::string& serial_hex);
  Result<std::vector<CertRecord>> Search(const services::Actor& actor, const CertQuery& q);
  // The certificate, optionally with its chain (leaf first, root last).
  Result<Bytes> Export(const services::Actor& actor, const std::string& ca,
                       const std::string& serial_hex, bool chain, ExportFormat format);

  // --- dual certificates (KM) ---
  // The KM this CA asks for encryption key pairs; not owned, must outlive the service. Without
  // one, encryption profiles are refused (kFailedPrecondition).
  void SetKmGateway(KmGateway* km) { km_ = km; }
  Result<DualIssued> IssueEncryption(const services::Actor& actor, const EncryptionIssueRequest& request);
  // Subscriber key recovery (after the RA's identity checks): the key of the good encryption
  // certificate `enc_serial`, enveloped to the good signing certificate `sign_serial` of the
  // same subject (the new carrier). Permission kCertIssue; audited.
  Result<KmKeyDelivery> RecoverEncryptionKey(const services::Actor& actor, const std::string& ca,
                                             const std::string& enc_serial,
                                             const std::string& sign_serial,
                                             const std::string& request_key);
  // Tells the KM about revoked encryption certificates, from the outbox (at least once, in
  // order; the KM treats repeats as done). Revocations call it at once; the server also runs
  // it periodically so a KM that was down catches up. Returns how many were forwarded.
  Result<std::size_t> ForwardKmRevocations();

  // --- CRLs (Permission kCrlIssue) ---
  // A full CRL, or a delta CRL against the latest full CRL (kFailedPrecondition if none).
  // CRL numbers are shared by full and delta CRLs of a CA and strictly increase.
  Result<CrlResult> IssueCrl(const services::Actor& actor, const std::string& ca, bool delta);
  // The latest CRL of the CA (public: served on the plain-HTTP address). kNotFound if none.
  Result<Bytes> LatestCrl(const std::string& ca, bool delta);
  // The CRL of one partition: the revoked and held certificates assigned to `partition`, with a
  // critical issuingDistributionPoint whose fullName is CrlUrl(ca, partition) (the URI those
  // certificates carry) and onlyContainsUserCerts. A delta is against the partition's latest
  // full CRL (kFailedPrecondition if none). kInvalidArgument for a negative partition.
  Result<CrlResult> IssuePartitionCrl(const services::Actor& actor, const std::string& ca,
                                      std::int64_t partition, bool delta);
  // Issues the full CRL of each partition of `ca` (0 up to the highest assigned) that has no
  // CRL yet or in which a certificate was revoked, held or released since its latest CRL; with
  // `all_partitions`, of every partition (the periodic refresh ahead of nextUpdate). Returns
  // what was issued, in partition order. What the scheduler runs after revocations and
  // periodically (README "CRL partitions").
  Result<std::vector<CrlResult>> IssueChangedPartitionCrls(const services::Actor& actor,
                                                           const std::string& ca,
                                                           bool all_partitions = false);
  // The CRL schedule: for every active CA holding its key, issues what is due under `policy`
  // (a first CRL, the periodic refresh ahead of nextUpdate, and after status changes a full or
  // delta CRL and the touched partitions' CRLs). The server runs it every few seconds. One
  // CA's failure is reported in the result and does not stop the others.
  Result<CrlRefreshReport> RefreshCrls(const services::Actor& actor,
                                       const CrlRefreshPolicy& policy = {});
  // The latest CRL of a partition (public). kNotFound if none.
  Result<Bytes> LatestPartitionCrl(const std::string& ca, std::int64_t partition, bool delta);
  // Distribution point URL: <public_base_url>/crl/<ca>.crl, or <ca>-p<N>.crl for partition N.
  std::string CrlUrl(const std::string& ca, std::optional<std::int64_t> partition) const;

  // --- trust list (Permission kCtlIssue) ---
  // Signs a CTL with the key of `ca` (the industry CA) listing every active CA certificate of
  // the hierarchy (roots and imported national roots included). Returns the DER SignedCTL.
  Result<Bytes> IssueCtl(const services::Actor& actor, const std::string& ca, int validity_days);

 private:
  struct Loaded;
  struct Prepared;
  void RecordFailure(audit::AuditEvent ev, const Error& failure);
  // Builds and signs a certificate: pure work outside any write transaction.
  Result<Prepared> PrepareIssue(const Loaded& issuer, const Profile& profile,
                                const x509::Name& subject, const crypto::Sm2PublicKey& key,
                                const IssueRequest& request, const std::string& requested_by);
  // Stores a prepared certificate, its outbox row and its audit record in `tx`.
  Status StoreIssued(store::Transaction& tx, const Prepared& p, audit::AuditEvent& event);
  template <class T>
  Result<T> Audited(const services::Actor& actor, std::string action, std::string object,
                    services::Permission permission,
                    const std::function<Result<T>(store::Transaction&, audit::AuditEvent&)>& op);
  Result<Loaded> LoadIssuer(store::Transaction& tx, const std::string& ca);
  // The certificate issued earlier under req.request_key, if any; kConflict when that key was
  // used for another public key or profile.
  Result<std::optional<IssuedCertificate>> FindByRequestKey(const IssueRequest& req,
                                                            const crypto::Sm2PublicKey& key);
  Result<CaRecord> CreateCaWithin(store::Transaction& tx, const services::Actor& actor,
                                  const std::string& name, const std::string& subject_dn,
                                  const std::string& kind, const std::string& parent,
                                  int validity_days, audit::AuditEvent& event);
  // Rekey after the proof of possession was checked (`pop`): from a CSR, or a subject and key.
  Result<IssuedCertificate> RekeyChecked(const services::Actor& actor, const std::string& ca,
                                         const std::string& serial, const Status& pop,
                                         const x509::CertificateRequest* csr,
                                         const x509::Name* subject, const crypto::Sm2PublicKey* key);
  // The partition of the next end-entity certificate of `ca` (issue order); nullopt when
  // partitioning is off.
  Result<std::optional<std::int64_t>> NextCrlPartition(const std::string& ca);
  Result<CrlResult> IssueCrlFor(const services::Actor& actor, const std::string& ca,
                                std::optional<std::int64_t> partition, bool delta);
  // True when some partition's latest full CRL has its nextUpdate at or before `horizon`.
  Result<bool> PartitionCrlsNearExpiry(const std::string& ca, std::int64_t horizon);
  Status ChangeStatus(const services::Actor& actor, const std::string& ca,
                      const std::string& serial_hex, const std::string& action,
                      x509::RevocationReason reason);

  store::Database& db_;
  device::CryptoDevice& device_;
  const Clock& clock_;
  CaSettings settings_;
  // Issuance commits in groups: one durable commit for many concurrent certificates.
  store::GroupCommitter committer_;
  KmGateway* km_ = nullptr;
  std::mutex km_forward_mu_;
  std::mutex cache_mu_;
  std::map<std::string, std::shared_ptr<const x509::Certificate>> ca_cert_cache_;
  std::mutex partition_mu_;
  std::map<std::string, std::int64_t> partition_seq_;  // per CA: next issue sequence number
};

// Normalises a serial given by a user: strips "0x", ':' separators and leading zeros,
// upper-cases. kInvalidArgument when not hex or longer than 20 octets.
Result<std::string> NormalizeSerial(std::string_view serial);

}  // namespace gmpki::ca
