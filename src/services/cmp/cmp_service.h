// The CMP service (RFC 4210 with the RFC 9483 lightweight profile; issue #4 item 4): ir, cr,
// p10cr, kur, rr, certConf/pkiconf and genm (id-it-caCerts, RFC 9483 §4.3.1) for the CAs of
// CaService, protected by password-based MAC (RFC 4210 §5.1.3.1) with a per-client shared
// secret, or by SM2-with-SM3 signatures (RFC 4210 §5.1.3.3, RFC 9483 §3.2) under the GM/T 0009
// signer ID 1234567812345678 with a client certificate issued by one of our CAs (answers are
// then signed by the CA's key in the crypto device). Served by cmp_routes.h at
// POST /cmp/<ca-alias> (RFC 6712).
//
// CMP clients are registered here: a reference, either a secret (SM4-GCM encrypted at rest
// under a device-derived key; the reference is the senderKID of its requests) or a certificate
// (its SKI is the senderKID), the one CA they may use and the profiles they may ask for. A
// client acts on the CA as services::Actor{"cmp:<reference>", Role::kRaSystem}. Every CMP
// operation is audited; a request whose protection does not verify is refused (an unprotected
// CMP error message, PKIFailureInfo badMessageCheck) and audited with outcome failure.
//
// Thread safety: thread-safe. Transactions waiting for certConf are held in memory (one node
// answers a transaction from ir to pkiconf; see README.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "device/device.h"
#include "services/ca/ca_service.h"
#include "services/core/roles.h"
#include "store/store.h"

namespace gmpki::cmp {

// Migrations 400..499 are reserved for CMP. Tables: cmp_clients, cmp_transactions,
// cmp_client_certs (401).
std::vector<store::Migration> CmpMigrations();

// PERSISTENT values of cmp_clients.status.
inline constexpr std::string_view kClientActive = "active";
inline constexpr std::string_view kClientSuspended = "suspended";
// PERSISTENT values of cmp_clients.protection: how the client protects its requests.
inline constexpr std::string_view kProtectionMac = "mac";              // RFC 4210 §5.1.3.1
inline constexpr std::string_view kProtectionSignature = "signature";  // RFC 4210 §5.1.3.3

struct CmpClient {
  std::string reference;              // senderKID, 1..64 of [A-Za-z0-9._-]
  std::string ca;                     // the CA alias it may use
  std::vector<std::string> profiles;  // allowed profiles; the first is the default
  std::string status;                 // kClientActive / kClientSuspended
  std::int64_t created_unix = 0;
  std::string protection = std::string(kProtectionMac);  // kProtectionMac / kProtectionSignature
  // Signature clients only: the registered certificate (upper-case hex).
  std::string cert_issuer_ca;    // the CA of ours that issued it
  std::string cert_serial_hex;
  std::string cert_key_id_hex;   // its subjectKeyIdentifier, the senderKID of its requests
  std::string cert_fingerprint;  // SM3 of its DER
};

// A newly created client's secret: shown once, never stored in clear.
struct CmpClientSecret {
  CmpClient client;
  std::string secret;  // 32 characters of [A-Za-z0-9]
};

// What a demo home prints (`gmpki cmp demo --json`).
struct DemoClient {
  std::string reference;  // "demo-ra"
  std::string secret;
  std::string path;  // "/cmp/<ca>"
};

// The answer to one HTTP POST /cmp/<ca>: a DER PKIMessage (RFC 6712 §3.4: HTTP 200 also for
// CMP error messages).
struct CmpResponse {
  Bytes der;
};

class CmpService {
 public:
  CmpService(store::Database& db, device::CryptoDevice& device, ca::CaService& ca,
             const Clock& clock, std::string node = "node-1");
  ~CmpService();
  CmpService(const CmpService&) = delete;
  CmpService& operator=(const CmpService&) = delete;

  // Permission kRaManage. `profiles` non-empty, each an end-entity profile of ca/profiles.h;
  // the CA must exist. kAlreadyExists for a used reference. Audited ("cmp.client.create").
  Result<CmpClientSecret> CreateClient(const services::Actor& by, const std::string& reference,
                                       const std::string& ca,
                                       const std::vector<std::string>& profiles);
  // A client that protects its requests with SM2 signatures (RFC 4210 §5.1.3.3, GM/T ID
  // 1234567812345678) made with the key of `cert_pem` (PEM or DER): an SM2 certificate issued
  // by one of our CAs (any, not necessarily `ca`), "good" there, currently valid and carrying a
  // subjectKeyIdentifier; a certificate registers at most one client. Requests name it by
  // senderKID = that SKI (or, without senderKID, by the first extraCerts certificate).
  // Permission kRaManage; same rules as CreateClient for reference, CA and profiles;
  // kInvalidArgument / kNotFound / kConflict (revoked or held) / kPolicyViolation (expired, no
  // SKI) for the certificate; kAlreadyExists for a used reference or certificate. Audited
  // ("cmp.client.create").
  Result<CmpClient> CreateCertClient(const services::Actor& by, const std::string& reference,
                                     const std::string& ca,
                                     const std::vector<std::string>& profiles,
                                     std::string_view cert_pem);
  // Permission kRaManage; kNotFound for an unknown reference. Audited.
  Status SuspendClient(const services::Actor& by, const std::string& reference);
  Status ResumeClient(const services::Actor& by, const std::string& reference);
  // Permission kRaManage (the secret is never listed).
  Result<std::vector<CmpClient>> ListClients(const services::Actor& by);

  // The demo deployment's client: reference "demo-ra" for `ca` with the CA's end-entity
  // profiles, created if absent (then audited as actor "system"); the secret is decrypted from
  // the table, so repeated calls return the same one.
  Result<DemoClient> EnsureDemoClient(const std::string& ca);

  // Processes one DER PKIMessage addressed to `ca_alias`. Everything that is a CMP message
  // gets a CMP answer (a refusal is a CMP error message or a rejection PKIStatusInfo).
  // Errors: kNotFound (no CA of that alias: HTTP 404), kMalformedInput (not a PKIMessage:
  // HTTP 400), kTooLarge; kInternal/kStorageFailure when no answer could be built.
  Result<CmpResponse> Handle(std::string_view ca_alias, ByteView der_request);

  struct Impl;  // the OpenSSL CMP server (cmp_server.cc), public only for its callbacks

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gmpki::cmp
