// A gmpki node: one deployment home (--home DIR) opened with its configuration, database,
// crypto device and services. Both binaries (gmpki, gmpki-server) and the integration tests
// use it, so `main` stays wiring only.
//
// Home layout:
//   gmpki.toml            configuration (services/core/config.h)
//   gmpki.db              SQLite database (embedded default)
//   device/keys.sealed    the software crypto device (SM4-GCM sealed key file)
//   tls/ca.pem            the deployment's TLS CA certificate (ECDSA P-256)
//   tls/ca.key            its key, PKCS#8 encrypted under a device-derived wrapping key
//   tls/server.pem/.key   the server's TLS certificate and encrypted key
//   demo/ (demo homes only) custodian shares and one operator credential per role; a
//         production home keeps none of these: they go to --secrets-out for hand-over.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "device/device.h"
#include <nlohmann/json.hpp>

#include "services/ca/ca_service.h"
#include "services/ca/ra_trust.h"
#include "services/cmp/cmp_service.h"
#include "services/directory/directory_sync.h"
#include "services/directory/ldap_publisher.h"
#include "services/evidence/evidence_log.h"
#include "services/va/ca_status_source.h"
#include "services/va/ocsp_responder.h"
#include "services/va/ocsp_signers.h"
#include "services/va/status_index.h"
#include "services/km/km_service.h"
#include "services/pii/pii.h"
#include "services/ra/ra_service.h"
#include "services/ra_link/ca_gateway.h"
#include "services/core/config.h"
#include "services/core/operators.h"
#include "store/store.h"

namespace gmpki::node {

struct InitOptions {
  std::filesystem::path home;
  bool demo = false;
  // Production homes: where custodian shares and initial operator credentials are written for
  // hand-over (required unless demo).
  std::filesystem::path secrets_out;
  std::string listen = "127.0.0.1:8443";
  std::string http_listen = "127.0.0.1:8080";
  std::string database_url;  // empty: SQLite in the home
  int threshold = 3;
  int shares = 5;
  // Demo homes also get a demo hierarchy: root -> industry CA -> business CA "ministry-ca".
  bool demo_hierarchy = true;
  // The services this node runs; empty: {"ca"}, or {"ca", "ra"} for a demo home. A key
  // management centre is a home of its own with {"km"} (its own database and device, KM-01); a
  // demo KM home gets two recovery officers for dual control.
  std::vector<std::string> roles;
  // Disaster recovery of a KM (or any node): rebuild the device master key from these k
  // custodian share files instead of making a new one, so that keys sealed by the old device
  // (a KM backup, escrowed keys) open in the new home. No new shares are made: the custodians
  // keep theirs (a demo home copies the given files).
  std::vector<std::filesystem::path> from_shares;
};

struct InitResult {
  std::vector<std::filesystem::path> share_files;
  std::vector<std::filesystem::path> credential_dirs;  // one per initial operator
  std::vector<std::string> cas;
};

// Creates a new home. kAlreadyExists if DIR/gmpki.toml exists. On failure the partially
// written home is left for inspection but never used (no gmpki.toml is written until the end).
Result<InitResult> InitHome(const InitOptions& options, const Clock& clock);

// The names of the initial operators (one per role) created by InitHome.
std::string InitialOperatorName(services::Role role);

// An operator's credential on disk: DIR/cert.pem, DIR/key.pem (encrypted PKCS#8) and, for demo
// and hand-over, DIR/passphrase.
struct Credential {
  std::string cert_pem;
  SecretBytes key_pem;
  SecretBytes passphrase;
};
Result<Credential> LoadCredential(const std::filesystem::path& dir,
                                  std::optional<std::string> passphrase_override = std::nullopt);
// Proves possession: the key decrypts with the passphrase and matches the certificate.
// Returns the certificate's SM3 fingerprint (hex) for OperatorRegistry::Authenticate.
Result<std::string> VerifyCredential(const Credential& c);

class Node {
 public:
  // Opens a home: runs the crypto self-tests (a failure is returned as kSelfTestFailure and the
  // caller must exit), loads and validates the configuration, rebuilds the device master key
  // from the custodian shares (`share_files` overrides the configured ones), opens the device
  // and the database and applies migrations.
  static Result<std::unique_ptr<Node>> Open(const std::filesystem::path& home,
                                            const std::vector<std::filesystem::path>& share_files = {});
  ~Node();

  const services::Config& config() const { return config_; }
  store::Database& db() { return *db_; }
  device::CryptoDevice& device() { return *device_; }
  ca::CaService& ca() { return *ca_; }
  services::OperatorRegistry& operators() { return *operators_; }
  cmp::CmpService& cmp() { return *cmp_; }
  const Clock& clock() const { return clock_; }

  // Signs an audit checkpoint with the device's audit key.
  Status CheckpointAudit();
  // Enrols an operator (system administrator only) and writes its new TLS client credential
  // (cert.pem, encrypted key.pem, passphrase) to out_dir/<name> for hand-over.
  Result<services::OperatorRecord> EnrolOperator(const services::Actor& by, const std::string& name,
                                                 services::Role role, const std::string& person,
                                                 const std::filesystem::path& out_dir);
  // --- RA-to-CA link (CA-01, HI-03, HI-05); files under <home>/ra-link/ ---
  // The CA's registry of registration systems (nodes with role "ca").
  ca::RaTrust& ra_trust() { return *ra_trust_; }
  // RA node, step 1: generates the RA's SM2 signing key in this node's device (label
  // "ra-link-sign", kept if it exists) and a TLS client key (wrapped under a device-derived
  // key), and returns the request for the CA's security administrator:
  // {"ra", "sign_csr" (PEM, signed by the device key), "tls_public_key" (PEM)}.
  Result<nlohmann::json> CreateRaLinkRequest(const std::string& ra_name);
  struct RaEnrolOptions {
    std::string issuer_ca;              // issues the RA's signing certificate (device-sign)
    std::vector<std::string> cas;       // default: {issuer_ca}
    std::vector<std::string> profiles;  // default: personal-sign, organization-sign, device-sign
  };
  // CA node, step 2: a CA operator issues the RA's signing certificate (unless the request
  // already carries one as "sign_certificate", issued beforehand), the deployment's TLS CA
  // its TLS client certificate, and the security administrator enrols it. Returns the
  // response for the RA: {"ra", "sign_certificate", "tls_certificate", "tls_ca"}.
  Result<nlohmann::json> EnrolRa(const services::Actor& ca_operator,
                                 const services::Actor& security_admin,
                                 const nlohmann::json& request, const RaEnrolOptions& options);
  // RA node, step 3: stores the certificates and points [ra] at the CA (name and ca_url in
  // gmpki.toml); the node must be reopened for the change to take effect.
  Status ImportRaLink(const nlohmann::json& response, const std::string& ca_url);
  // The RA's way to its CA: in-process when ra.ca_url is empty (the node runs "ca" too),
  // otherwise the remote CA over mutual TLS. Created on first use.
  Result<ra::CaGateway*> CaGateway();

  // The registration service (nodes with role "ra"), over CaGateway(). Created on first use.
  Result<ra::RaService*> Ra();
  // The personal-data codec (keys derived in this node's device). Created on first use.
  Result<std::shared_ptr<const pii::PiiCodec>> Pii();

  // --- key management centre (role "km") and a CA node's link to it (node_km.cc) ---
  bool HasRole(std::string_view role) const;
  // The KM service; kFailedPrecondition on a node without role "km".
  Result<km::KmService*> Km();
  // CA node, step 1: a TLS client key for reaching the KM (wrapped under a device-derived key,
  // <home>/km-link/pending.key until step 3) and the request for the KM's security administrator:
  // {"ca_node", "tls_public_key"}.
  Result<nlohmann::json> CreateKmLinkRequest(const std::string& ca_node_name);
  // KM node, step 2: the KM's TLS CA issues the CA node's client certificate and the security
  // administrator registers it; returns {"ca_node", "tls_certificate", "tls_ca"}.
  // `replace`: a CA node registered already gets this new TLS certificate (keys stay bound).
  Result<nlohmann::json> EnrolKmCa(const services::Actor& security_admin, const nlohmann::json& request,
                                   bool replace = false);
  // CA node, step 3: stores the certificates and sets [km] url; reopen the node to use it.
  Status ImportKmLink(const nlohmann::json& response, const std::string& km_url);

  // --- LDAP publication and the evidence log (node_services.cc) ---
  // The publisher of the CA's certificates and CRLs to the master directory ([directory]);
  // kFailedPrecondition when directory.url is not set. Created on first use (no connection is
  // made until the first sync).
  Result<directory::DirectorySync*> Directory();
  // The accountability evidence log (AS-06): a Merkle-tree transparency log signed by the
  // device key "evidence-log" (generated at first use on a home that lacks it).
  Result<evidence::EvidenceLog*> Evidence();

  // The OCSP responder of a CA node ([ocsp] enabled): the status index loaded from the CA's
  // tables, the responder with its pre-signed cache and a delegated signer per CA. Created on
  // first use (loads every certificate's status; seconds per million). The server keeps it fed:
  // Ocsp().source.Poll() every second, responder.RefreshCache() every minute, and
  // signers.ProvisionAll() daily.
  struct OcspStack {
    va::StatusIndex index;
    std::unique_ptr<va::CaStatusSource> source;
    std::unique_ptr<va::OcspResponder> responder;
    std::unique_ptr<va::OcspSignerManager> signers;
  };
  Result<OcspStack*> Ocsp();

  // Verifies the whole audit log against the audit key.
  Result<audit::VerifyReport> VerifyAudit();

  // TLS material for the HTTPS server: the chain, the decrypted-on-load key and the client CA.
  struct TlsMaterial {
    std::string cert_chain_pem;
    SecretBytes key_pem;
    SecretBytes passphrase;
    std::string client_ca_pem;
  };
  Result<TlsMaterial> LoadServerTls();

 private:
  Node() = default;
  SystemClock clock_;
  services::Config config_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<device::CryptoDevice> device_;
  std::unique_ptr<ca::CaService> ca_;
  std::unique_ptr<services::OperatorRegistry> operators_;
  std::unique_ptr<ca::RaTrust> ra_trust_;
  std::unique_ptr<cmp::CmpService> cmp_;
  std::mutex gateway_mu_;
  std::unique_ptr<ra::CaGateway> gateway_;
  std::shared_ptr<const pii::PiiCodec> pii_;
  std::unique_ptr<ra::RaService> ra_;
  std::unique_ptr<km::KmService> km_;
  std::unique_ptr<ca::KmGateway> km_gateway_;
  std::mutex services_mu_;
  std::unique_ptr<directory::LdapPublisher> ldap_;
  std::unique_ptr<directory::DirectorySync> directory_;
  std::unique_ptr<evidence::EvidenceLog> evidence_;
  std::unique_ptr<OcspStack> ocsp_;
  // Opens the KM service and the CA's KM gateway as the configuration says (node_km.cc).
  Status OpenKm();
};

// All migrations of every component, in order.
std::vector<store::Migration> AllMigrations();

}  // namespace gmpki::node
