// The registration authority (LD/T 02.1-2022 §7.3.2 "证书注册管理系统": user information entry,
// modification, query, review and certificate download; §7.5.2 "证书注册点": the operator
// terminal facing end users). RA-01, RA-02, CC-FPR.
//
// Every operation: authorise the actor (services/core/roles.h) -> for ra-operators, find the
// active registration point the operator is bound to -> validate all input -> one database
// transaction that stores the change AND its audit record (audit/audit.h). A refused operation
// changes nothing and is itself audited with outcome failure. Audit records name the point.
//
// Four-eyes rule: the operator who reviews a subscriber record is never the one who entered it
// or last modified it, and the reviewer of a certificate request is never its requester
// (kPolicyViolation otherwise).
//
// Personal data (CC-FPR): ID document numbers, social security numbers, phone numbers,
// addresses and issued certificates (which carry the identity numbers) are stored only
// encrypted through pii::PiiCodec, bound to their record; ID and social security numbers are
// found through the codec's keyed blind index. Listings, logs and audit records show masked
// numbers only; GetSubscriber shows them in clear to holders of kPiiRead and audits that.
//
// The CA is reached only through ra::CaGateway; an approved request is sent under a request ID
// derived from the RA request's ID, so a retried approval never issues twice.
//
// Dual certificates (LD/T 02.1 §7.3.2; KM-03, KM-06): a request for an encryption profile names
// the subscriber's signing certificate (issued through this RA) instead of a CSR, since the key
// management centre generates the key; approved, the RA keeps the encryption certificate and
// the key envelopes (encrypted to the signing key) for download. A key recovery request
// re-delivers the key of an encryption certificate to a new carrier (a new signing certificate
// of the same subscriber), under the same four-eyes review.
//
// Thread safety: thread-safe; each call uses its own transactions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "base/clock.h"
#include "services/core/roles.h"
#include "services/pii/pii.h"
#include "services/ra_link/ca_gateway.h"
#include "store/group_commit.h"
#include "store/store.h"
#include "x509/crl.h"

namespace gmpki::ra {

// Migrations 300..399 are reserved for the RA.
std::vector<store::Migration> RaMigrations();

struct RaSettings {
  std::string node = "node-1";
  std::string ra_name = "ra";  // this RA; registration points belong to it
};

// GB 32100-2015 unified social credit code: 18 characters of "0123456789ABCDEFGHJKLMNPQRTUWXY",
// the 6-digit administrative division code at positions 3..8, and the check character
// C18 = 31 - (sum(Ci * Wi) mod 31), Wi = 3^(i-1) mod 31 (§4.1, §5). Lower case is accepted and
// upper-cased. Returns the normalised code; kInvalidArgument naming what is wrong otherwise.
Result<std::string> NormalizeUscc(std::string_view code);

// --- registration points (RA-02) ---

// PERSISTENT values of ra_points.status: "active", "suspended".
struct PointRecord {
  std::string name;
  std::string ra;
  std::string description;
  std::string location;
  std::string status;
  std::vector<std::string> operators;  // bound ra-operators, sorted
  std::int64_t created_unix = 0;
};

// --- subscribers (RA-01) ---

// PERSISTENT values of ra_subscribers.kind and .status.
inline constexpr std::string_view kKindPerson = "person";
inline constexpr std::string_view kKindOrganization = "organization";
inline constexpr std::string_view kKindDevice = "device";
inline constexpr std::string_view kStatusPending = "pending";
inline constexpr std::string_view kStatusApproved = "approved";
inline constexpr std::string_view kStatusRejected = "rejected";

// What an operator enters. Which fields apply depends on `kind`:
//   person:       name, id_kind (resident-id | passport | other), id_number; optional
//                 social_security, phone, address, email
//   organization: name, uscc, legal_representative; optional phone, address, email
//   device:       name, device_serial, owner (ID of an organisation subscriber)
// A field that does not apply must be empty (kInvalidArgument otherwise).
struct SubscriberInput {
  std::string kind;
  std::string name;  // 1..128 UTF-8 bytes
  std::string id_kind;
  std::string id_number;
  std::string social_security;
  std::string phone;
  std::string address;
  std::string email;
  std::string uscc;
  std::string legal_representative;
  std::string device_serial;
  std::string owner;
};

// A subscriber as shown. Personal numbers (id_number, social_security, phone, address) are
// masked unless `revealed`.
struct SubscriberView {
  std::string id;
  std::string kind;
  std::string name;
  std::string status;
  std::string id_kind;
  std::string id_number;
  std::string social_security;
  std::string phone;
  std::string address;
  std::string email;
  std::string uscc;
  std::string legal_representative;
  std::string device_serial;
  std::string owner;
  std::string point;         // the point it was entered at
  std::string entered_by;
  std::string modified_by;   // last modifier (empty if never modified)
  std::string reviewed_by;
  std::string review_reason;
  bool revealed = false;
  std::int64_t created_unix = 0;
  std::int64_t updated_unix = 0;
};

struct SubscriberQuery {
  std::optional<std::string> kind;
  std::optional<std::string> status;
  std::optional<std::string> name_prefix;  // exact prefix, in characters
  // Exact search through the blind index: id_kind + id_number, social security number, USCC.
  std::optional<std::string> id_kind;
  std::optional<std::string> id_number;
  std::optional<std::string> social_security;
  std::optional<std::string> uscc;
  int limit = 50;  // 1..500
  int offset = 0;
};

struct Review {
  bool approve = false;
  std::string reason;  // required (1..512 bytes) when rejecting
};

// --- certificate requests (RA-01) ---

// PERSISTENT values of ra_requests.kind and .status:
//   kind: "issue", "renew", "revoke", "recover" (key recovery to a new carrier)
//   status: "pending" (awaiting review), "rejected", "approved" (reviewed; the CA call is
//   outstanding or failed transiently and may be retried by approving again), "completed",
//   "failed" (the CA refused the approved request for good; last_error says why)
struct CertRequestInput {
  std::string subscriber;  // an approved subscriber's ID
  std::string ca;
  std::string profile;
  Bytes csr;  // PEM or DER PKCS#10; the proof of possession must verify
  std::optional<int> validity_days;
  // Encryption profiles (personal-enc, organization-enc, device-enc) only, instead of `csr`:
  // the serial (hex) of the subscriber's signing certificate at `ca`, issued through this RA.
  std::string sign_serial;
};

struct RequestView {
  std::string id;
  std::string kind;
  std::string subscriber;
  std::string status;
  std::string ca;
  std::string profile;
  std::optional<int> validity_days;
  std::string source_request;  // renew/revoke/recover: the request whose certificate is concerned
  // Encryption issue: the request of the signing certificate the key is enveloped to; recover:
  // that of the new carrier. Empty otherwise.
  std::string sign_request;
  std::optional<x509::RevocationReason> reason;  // revoke
  std::string point;
  std::string requested_by;
  std::string reviewed_by;
  std::string review_reason;
  std::string last_error;
  // Set once the CA has issued (issue, renew): upper-case hex serial and validity end.
  std::string serial_hex;
  std::int64_t not_after = 0;
  std::optional<std::int64_t> revoked_unix;  // when an approved revocation took effect
  std::int64_t created_unix = 0;
  std::int64_t updated_unix = 0;
};

struct RequestQuery {
  std::optional<std::string> subscriber;
  std::optional<std::string> kind;
  std::optional<std::string> status;
  int limit = 50;  // 1..500
  int offset = 0;
};

enum class CertFormat { kPem, kDer, kPkcs7 };  // kPkcs7: DER certs-only, leaf first, root last

// What the subscriber receives for an encryption certificate or a key recovery: both
// certificates (DER) and the encryption private key in the three envelope forms, each
// encrypted to the signing certificate's public key (only its holder can open them).
struct KeyPackage {
  std::string request;
  std::string sign_serial;
  std::string enc_serial;
  Bytes sign_certificate;
  Bytes enc_certificate;
  std::string key_id;       // the KM's key identifier
  Bytes skf_blob;           // GM/T 0016 ENVELOPEDKEYBLOB
  Bytes sm2_enveloped_key;  // GB/T 35276 SM2EnvelopedKey (DER)
  Bytes enveloped_data;     // GM/T 0010 EnvelopedData (DER ContentInfo)
};

class RaService {
 public:
  // `pii` must not be null. `gateway` must outlive the service.
  RaService(store::Database& db, std::shared_ptr<const pii::PiiCodec> pii, CaGateway& gateway,
            const Clock& clock, RaSettings settings);

  const RaSettings& settings() const { return settings_; }

  // --- registration points: Permission kOperatorManage (system administrator) ---
  // Name: 1..64 of [a-z0-9._-]. kAlreadyExists for a used name.
  Result<PointRecord> CreatePoint(const services::Actor& actor, const std::string& name,
                                  const std::string& description, const std::string& location);
  Result<std::vector<PointRecord>> ListPoints(const services::Actor& actor);
  // Suspends (active = false) or resumes a point; its operators cannot act while suspended.
  Result<PointRecord> SetPointActive(const services::Actor& actor, const std::string& name,
                                     bool active);
  // Binds an ra-operator (by operator name) to a point of this RA, moving it if bound elsewhere.
  Status BindOperator(const services::Actor& actor, const std::string& operator_name,
                      const std::string& point);
  Status UnbindOperator(const services::Actor& actor, const std::string& operator_name);

  // --- subscribers: ra-operators bound to an active point ---
  // kSubscriberWrite. kInvalidArgument for bad fields (resident ID checksum, USCC check
  // character, ...); kAlreadyExists for a subscriber with the same ID kind and number, the
  // same USCC, or the same device serial under the same owner. The record starts "pending".
  Result<SubscriberView> EnterSubscriber(const services::Actor& actor, const SubscriberInput& in);
  // kSubscriberWrite. Replaces the record's fields (the kind cannot change) and sends it back
  // to review ("pending"); the modifier may then not review it.
  Result<SubscriberView> ModifySubscriber(const services::Actor& actor, const std::string& id,
                                          const SubscriberInput& in);
  // kSubscriberReview. Only "pending" records (kConflict otherwise); four-eyes
  // (kPolicyViolation when the reviewer entered or last modified the record).
  Result<SubscriberView> ReviewSubscriber(const services::Actor& actor, const std::string& id,
                                          const Review& review);
  // kSubscriberRead; with `reveal`, also kPiiRead, and the disclosure is audited.
  Result<SubscriberView> GetSubscriber(const services::Actor& actor, const std::string& id,
                                       bool reveal);
  // kSubscriberRead. Masked. Ordered by creation time, then ID.
  Result<std::vector<SubscriberView>> ListSubscribers(const services::Actor& actor,
                                                      const SubscriberQuery& q);

  // --- certificate requests: ra-operators bound to an active point ---
  // kCertRequest. The subscriber must be approved; the CSR must parse and prove possession.
  // For an encryption profile, `sign_serial` replaces the CSR: it must name a completed,
  // unrevoked signing certificate requested through this RA for the same subscriber
  // (kNotFound if none; kPolicyViolation when it is another subscriber's; kFailedPrecondition
  // when revoked; kAlreadyExists when an encryption request for it is open or completed).
  Result<RequestView> RequestCertificate(const services::Actor& actor, const CertRequestInput& in);
  // kCertRequest. `source_request` is a completed issue or renew request whose certificate is
  // not revoked. Reasons certificateHold and removeFromCRL are refused (kInvalidArgument).
  Result<RequestView> RequestRevocation(const services::Actor& actor,
                                        const std::string& source_request,
                                        x509::RevocationReason reason);
  // Encryption certificates are not renewed (kFailedPrecondition): a new one is requested.
  Result<RequestView> RequestRenewal(const services::Actor& actor,
                                     const std::string& source_request,
                                     std::optional<int> validity_days);
  // kCertRequest. Subscriber key recovery (KM-06): `enc_request` is a completed, unrevoked
  // encryption certificate request; `sign_serial` names the new carrier, a completed, unrevoked
  // signing certificate of the same subscriber requested through this RA (kPolicyViolation for
  // another subscriber's). Reviewed like any request; approved, the CA has the KM envelope the
  // key to the new carrier and DownloadKeys returns it.
  Result<RequestView> RequestKeyRecovery(const services::Actor& actor,
                                         const std::string& enc_request,
                                         const std::string& sign_serial);
  // kSubscriberReview, four-eyes against the requester. Approving sends the request to the CA
  // under the gateway request ID = the request's ID; approving again after a transient failure
  // (status "approved") retries with the same ID, and approving a completed request returns it
  // unchanged: a certificate is issued at most once. Rejecting needs a reason.
  Result<RequestView> ReviewRequest(const services::Actor& actor, const std::string& id,
                                    const Review& review);
  Result<RequestView> GetRequest(const services::Actor& actor, const std::string& id);
  Result<std::vector<RequestView>> ListRequests(const services::Actor& actor,
                                                const RequestQuery& q);
  // kCertRequest. The certificate of a completed issue or renew request (audited).
  Result<Bytes> Download(const services::Actor& actor, const std::string& id, CertFormat format);
  // kCertRequest. For a completed encryption issue or key recovery request: both certificates
  // and the key envelopes (audited as ra.cert.download, format "keys"). kFailedPrecondition for
  // any other request.
  Result<KeyPackage> DownloadKeys(const services::Actor& actor, const std::string& id);

 private:
  struct Ctx;
  struct SubscriberRow;
  struct RequestRow;
  using Op = std::function<Status(store::Transaction&, audit::AuditEvent&, const Ctx&)>;
  // Authorises, resolves the operator's point (when `needs_point`), runs `op` and the audit
  // record in one transaction; on failure audits the refusal in a transaction of its own.
  Status Run(const services::Actor& actor, const std::string& action, const std::string& object,
             services::Permission permission, bool needs_point, const Op& op);
  void RecordFailure(audit::AuditEvent ev, const Error& failure);

  Result<SubscriberRow> LoadSubscriber(store::Transaction& tx, const std::string& id);
  Result<SubscriberView> ToView(const SubscriberRow& row, bool reveal) const;
  Status WriteSubscriber(store::Transaction& tx, const std::string& id, const SubscriberInput& in,
                         bool insert, const Ctx& ctx, const std::string& actor);
  Status CheckDuplicates(store::Transaction& tx, const std::string& id, const SubscriberInput& in);
  Result<RequestRow> LoadRequest(store::Transaction& tx, const std::string& id);
  Result<RequestView> NewLifecycleRequest(const services::Actor& actor, const std::string& kind,
                                          const std::string& source_request,
                                          std::optional<x509::RevocationReason> reason,
                                          std::optional<int> validity_days);
  Result<ca::IdentityAttributes> IdentityOf(const SubscriberRow& row) const;
  Result<RequestView> RequestEncryption(const services::Actor& actor, const CertRequestInput& in);
  // The completed, unrevoked signing certificate request of this RA with `serial` at `ca`,
  // which must belong to `subscriber` (ra_dual.cc).
  Result<RequestRow> FindSigningRequest(store::Transaction& tx, const std::string& ca,
                                        const std::string& serial, const std::string& subscriber);
  // Sends an approved request to the CA and records the outcome.
  Result<RequestView> Execute(const services::Actor& actor, const RequestRow& req,
                              const ca::IdentityAttributes& identity);

  store::Database& db_;
  std::shared_ptr<const pii::PiiCodec> pii_;
  CaGateway& gateway_;
  const Clock& clock_;
  RaSettings settings_;
  // Operations commit in groups: one durable commit for many concurrent operators (PF-03).
  store::GroupCommitter committer_;
};

}  // namespace gmpki::ra
