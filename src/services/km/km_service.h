// The key management centre (KM) of the dual-certificate system (LD/T 02.1 §7.3.2, §7.3.3;
// KM-01..KM-09, PF-04, PF-05): the subscriber's signing key is the subscriber's own, while the
// encryption key pair is generated, escrowed and recoverable here.
//
// Separation: a KM is its own node (role "km") with its own database and crypto device; it
// serves only the CAs registered with it (by the TLS client certificate they present, KM-01),
// and no call of this class returns a private key in clear: keys live sealed under a
// key-encryption key derived inside the KM's device (context kEscrowContext) and leave it only
// enveloped to a public key (the subscriber's signing key, or a judicial authority's key).
//
// Key life: pool (pre-generated, sealed) -> "issued" (bound to a subscriber and a CA request)
// -> "active" (bound to the encryption certificate the CA issued) -> "revoked" (never served
// again) or expired; ArchiveSweep() then moves the key into the archive store (km_archive),
// where it is kept until retain_until = max(not_after, revoked) + retention_years (>= 10 years,
// PF-05) and stays recoverable by judicial recovery.
//
// Thread safety: thread-safe; several KM nodes may share one PostgreSQL database (pool rows are
// claimed with a conditional DELETE, keys are unique per (CA, request ID)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "crypto/sm2.h"
#include "device/device.h"
#include "services/core/roles.h"
#include "store/store.h"

namespace gmpki::km {

// The device key-encryption-key context of escrowed and pooled keys. PERSISTENT.
inline constexpr std::string_view kEscrowContext = "km-escrow-v1";
// The device-derived key of store backups. PERSISTENT.
inline constexpr std::string_view kBackupContext = "km-backup-v1";

std::vector<store::Migration> KmMigrations();

struct KmSettings {
  std::string node = "km-1";
  // PF-05: years an expired or revoked key is kept in the archive. At least 10.
  int retention_years = 10;
  // Background top-up: refill below low_water up to target, `batch` pairs per device call.
  std::size_t pool_low_water = 2000;
  std::size_t pool_target = 10000;
  std::size_t pool_batch = 1024;
  // Dual control: the second officer must approve within this many seconds of the request.
  int recovery_window_seconds = 24 * 3600;
};

// PERSISTENT values of km_cas.status: "active", "suspended".
struct KmCa {
  std::string name;
  std::string tls_fingerprint;  // lower-case hex SM3 of the CA node's TLS client certificate
  std::string status;
  std::string registered_by;
  std::int64_t created_unix = 0, updated_unix = 0;
};

// PERSISTENT values of status: "issued", "active", "revoked"; archived keys keep theirs.
struct KeyRecord {
  std::string key_id;      // 32 hex digits
  std::string ca;          // the KM's name for the CA that asked for it
  std::string request_id;  // the CA's request ID (unique per CA)
  std::string subject;     // the subscriber's DN, as the CA sent it
  crypto::Sm2PublicKey enc_public_key;
  crypto::Sm2PublicKey sign_public_key;  // the key the envelope was made for
  std::string status;
  std::string cert_serial;  // the encryption certificate, once bound (upper-case hex)
  std::int64_t not_after_unix = 0;
  std::int64_t created_unix = 0;
  std::int64_t revoked_unix = 0;  // 0: not revoked
  std::string revoke_reason;
  std::string previous_key_id;  // the key this one replaced (re-key)
  bool archived = false;
  std::int64_t retain_until_unix = 0;  // archived keys only
};

// A key delivered to a subscriber, enveloped to the signing certificate's public key in the
// forms carriers and applications take (x509/key_envelope.h): the GM/T 0016 SKF
// ENVELOPEDKEYBLOB, the GB/T 35276 SM2EnvelopedKey and a GB/T 35275 (GM/T 0010) EnvelopedData.
struct KeyDelivery {
  KeyRecord key;
  Bytes skf_blob;
  Bytes sm2_enveloped_key;
  Bytes enveloped_data;
};

struct ApplyKeyRequest {
  std::string request_id;  // 1..128 of [A-Za-z0-9._:-]; a repeat returns the same key
  Bytes sign_certificate;  // DER or PEM: the subscriber's signing certificate (SM2)
  std::int64_t not_after_unix = 0;  // when the encryption certificate will expire
  std::string previous_key_id;      // re-key: the key being replaced (marked revoked/superseded)
};

struct RestoreKeyRequest {
  std::string request_id;
  std::string cert_serial;  // the encryption certificate whose key is re-delivered
  Bytes sign_certificate;   // the subscriber's (new) signing certificate: the new carrier
};

// PERSISTENT values of status: "pending", "released", "expired".
struct Recovery {
  std::string id;
  std::string key_id;
  std::string requested_by;
  std::string approved_by;
  std::string authority;              // the authority certificate's subject
  std::string authority_fingerprint;  // SM3 hex of its DER
  std::string case_ref;
  std::string reason;
  std::string status;
  std::int64_t created_unix = 0, expires_unix = 0, approved_unix = 0;
  Bytes package;  // released only: GM/T 0010 EnvelopedData to the authority's certificate
};

struct JudicialRecoveryRequest {
  std::string key_id;       // either the key ID
  std::string ca;           // or the CA and the encryption certificate's serial
  std::string cert_serial;
  Bytes authority_certificate;  // DER or PEM, SM2 public key: the package is encrypted to it
  std::string case_ref;         // the warrant / case reference (1..128)
  std::string reason;           // 1..512
};

struct PoolState {
  std::int64_t available = 0;
  std::int64_t escrowed = 0;  // km_keys
  std::int64_t archived = 0;  // km_archive
};

struct ArchiveReport {
  std::int64_t moved = 0;
  std::int64_t purged = 0;
};

struct BackupReport {
  std::int64_t cas = 0, keys = 0, archived = 0, recoveries = 0;
  std::string sm3;  // of the backed-up content, hex: equal before and after a restore
};

class KmService {
 public:
  KmService(store::Database& db, device::CryptoDevice& device, const Clock& clock,
            KmSettings settings);

  // --- the CAs this KM serves (Permission kKmManage, security administrator) ---
  // `replace`: the CA node is registered already and gets a new TLS certificate (after a KM
  // restore into a new home, or a CA node's new TLS key); its keys stay bound to its name.
  Result<KmCa> RegisterCa(const services::Actor& actor, const std::string& name,
                          const std::string& tls_fingerprint, bool replace = false);
  Status SuspendCa(const services::Actor& actor, const std::string& name);
  Status ResumeCa(const services::Actor& actor, const std::string& name);
  Result<std::vector<KmCa>> ListCas(const services::Actor& actor);
  // The registered, active CA presenting this TLS certificate: kUnauthenticated when unknown,
  // kPermissionDenied when suspended (both audited).
  Result<KmCa> AuthenticateCa(const std::string& tls_fingerprint);

  // --- requests of an authenticated CA (every one audited with actor "ca:<name>") ---
  // A key pair from the pool (generated on demand when the pool is empty), escrowed for the
  // subscriber of `sign_certificate` and enveloped to its public key. A repeated request ID
  // with the same signing key re-delivers the same key; with another key it is kConflict.
  Result<KeyDelivery> ApplyKey(const KmCa& ca, const ApplyKeyRequest& request);
  // Records the encryption certificate issued for the key (issued -> active).
  Status BindCertificate(const KmCa& ca, const std::string& key_id, const std::string& cert_serial);
  // Marks the key of an encryption certificate revoked; it is never delivered again. Revoking a
  // revoked key again is success (the CA may retry).
  Status RevokeKey(const KmCa& ca, const std::string& cert_serial, const std::string& reason);
  // Subscriber recovery (re-delivery to a new carrier after the RA's identity checks): the key
  // of an active encryption certificate, enveloped to the new signing certificate's key.
  Result<KeyDelivery> RestoreKey(const KmCa& ca, const RestoreKeyRequest& request);

  // --- key records (Permission kKmRead) ---
  Result<KeyRecord> GetKey(const services::Actor& actor, const std::string& key_id);
  Result<KeyRecord> FindByCertificate(const services::Actor& actor, const std::string& ca,
                                      const std::string& cert_serial);
  Result<PoolState> State(const services::Actor& actor);

  // --- pool (background) ---
  // Adds sealed key pairs until `target` are available; returns how many were added.
  Result<std::size_t> RefillPool(std::size_t target);
  Result<std::int64_t> PoolAvailable();

  // --- archive (PF-05) ---
  // Moves keys expired or revoked by `now` into the archive with their retain-until date, and
  // deletes archived keys whose retain-until date has passed. Audited (actor "system").
  Result<ArchiveReport> ArchiveSweep();

  // --- judicial recovery (Permission kKmRecover; dual control, KM-09) ---
  // The first officer's request (it counts as the first of the two approvals).
  Result<Recovery> RequestJudicialRecovery(const services::Actor& officer,
                                           const JudicialRecoveryRequest& request);
  // The second, distinct officer's approval within the window: the key is enveloped to the
  // authority's certificate and the package stored. kPolicyViolation for the same officer,
  // kFailedPrecondition when expired or not pending.
  Result<Recovery> ApproveJudicialRecovery(const services::Actor& officer, const std::string& id);
  // The request without its package (Permission kKmRead).
  Result<Recovery> GetRecovery(const services::Actor& officer, const std::string& id);
  // The released package (Permission kKmRecover), each fetch audited.
  Result<Bytes> FetchRecoveryPackage(const services::Actor& officer, const std::string& id);
  Result<std::vector<Recovery>> ListRecoveries(const services::Actor& officer);

  // --- backup and restore (Permission kKmBackup) ---
  // Every CA registration, escrowed and archived key and recovery, SM4-GCM sealed under a key
  // derived in the device (kBackupContext). Only a KM whose device holds the same master key
  // (rebuilt from the custodians' shares) can read it; any altered byte fails the tag.
  Result<Bytes> ExportBackup(const services::Actor& actor, BackupReport* report = nullptr);
  // Into an empty KM store only (kFailedPrecondition otherwise); all or nothing.
  Result<BackupReport> ImportBackup(const services::Actor& actor, ByteView backup);

  const KmSettings& settings() const { return settings_; }

 private:
  Result<KeyRecord> LoadKey(store::Transaction& tx, const std::string& where,
                            const std::vector<store::Value>& params, bool include_archive);
  Result<KeyDelivery> Deliver(const KeyRecord& key, ByteView wrapped,
                              ByteView sign_certificate_der);
  Result<std::pair<crypto::Sm2PublicKey, Bytes>> TakeFromPool();
  Result<std::pair<crypto::Sm2PublicKey, Bytes>> LoadWrapped(store::Transaction& tx,
                                                              const std::string& key_id);

  store::Database& db_;
  device::CryptoDevice& device_;
  const Clock& clock_;
  KmSettings settings_;
};

}  // namespace gmpki::km
