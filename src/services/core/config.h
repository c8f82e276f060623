// Node configuration: DIR/gmpki.toml. Every key is validated at start; an unknown key, a wrong
// type or an out-of-range value is a kConfigInvalid error naming the key, and the node does not
// start. Relative paths are resolved against the home directory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gmpki::services {

// A registration system's name ([ra] name, the CA's RA registry): 1..64 of a-z, 0-9 and '-'.
bool IsValidRaName(std::string_view name);

struct Config {
  std::filesystem::path home;

  // [node]
  std::string node_name = "node-1";
  std::vector<std::string> roles = {"ca"};  // which services this node runs
  std::string deployment = "ministry";      // ministry | province-1 | province-2 | city

  // [database]
  std::string database_url;  // default sqlite:<home>/gmpki.db

  // [device]
  std::string device_kind = "soft";
  std::filesystem::path device_file;  // default <home>/device/keys.sealed
  int device_threshold = 3;           // k of the master-key split
  int device_shares = 5;              // n
  std::vector<std::filesystem::path> share_files;  // demo homes only: custodian share files

  // [server]
  std::string listen = "127.0.0.1:8443";
  std::string http_listen = "127.0.0.1:8080";
  int threads = 16;  // handlers block on the device and the group commit: more than cores
  // Request bodies above this get a 413 problem. Batch enrolment sends NDJSON chunks of up to 8 MiB.
  std::size_t max_body_bytes = 9 << 20;
  std::filesystem::path tls_cert;       // default <home>/tls/server.pem (chain)
  std::filesystem::path tls_key;        // default <home>/tls/server.key (encrypted PKCS#8)
  std::filesystem::path tls_client_ca;  // default <home>/tls/ca.pem

  // [ca]
  std::string public_base_url = "http://127.0.0.1:8080";  // for CRL distribution points / AIA
  int default_validity_days = 365;
  int crl_validity_hours = 24;
  // Partitioned CRLs (services/ca/ca_service.h CaSettings::crl_partition_size): 0 = one CRL per
  // CA; N > 0 = end-entity certificates in partitions of about N, each with its own CRL.
  int crl_partition_size = 0;
  // The CRL schedule (services/ca README "CRL schedule"): every this many seconds the server
  // issues what is due (first CRLs, refresh at half the validity, CRLs after revocations).
  // 0 = off (CRLs only when an operator issues them).
  int crl_refresh_seconds = 5;

  // [ra] (nodes with role "ra")
  std::string ra_name = "demo-ra";  // the name the CA knows this RA by
  // Empty: the CA runs in this process (role "ca" too). Otherwise the remote CA's operator
  // HTTPS address, e.g. "https://ca.mohrss.example:8443"; the TLS material and the signing key
  // come from `gmpki ra-link import` (<home>/ra-link/).
  std::string ra_ca_url;

  // [km]
  // CA nodes: the key management centre's HTTPS address (e.g. "https://km.mohrss.example:8444")
  // for dual certificates; the TLS material comes from `gmpki km-link import` (<home>/km-link/).
  // Empty: encryption profiles are refused.
  std::string km_url;
  // KM nodes (role "km"): the key pool and the archive (services/km/km_service.h).
  int km_pool_target = 10000;
  int km_pool_low_water = 2000;
  int km_retention_years = 10;            // PF-05: at least 10
  int km_recovery_window_hours = 24;      // dual control: the second approval within this time

  // [ocsp] The OCSP responder of a CA node (services/va), at <public_base_url>/ocsp on the
  // plain-HTTP address; issued certificates name it in authorityInfoAccess.
  bool ocsp_enabled = true;
  int ocsp_validity_minutes = 60;        // nextUpdate - thisUpdate of a response
  int ocsp_refresh_margin_minutes = 10;  // re-signed when less than this is left
  int ocsp_cache_mb = 512;               // pre-signed responses held in memory

  // [directory] LDAP publication (services/directory): the CA's certificates and CRLs written to
  // the master directory, which pushes them to its replicas. Empty url: publication off. The
  // section is written only when url is set (tools/ldap/slapd-instance.sh up prints one).
  std::string directory_url;            // ldap://host:port/
  std::string directory_bind_dn;
  std::filesystem::path directory_password_file;  // the bind password (never in this file)
  std::string directory_suffix = "dc=gmpki,dc=test";
  std::string directory_revoked_policy = "keep";  // "keep" | "remove"
  std::string directory_replica_url;    // informational: where relying parties read

  // [audit]
  int checkpoint_interval_seconds = 60;

  bool demo = false;  // [node] demo = true: demo credentials and shares are kept under home

  // Loads and validates <home>/gmpki.toml.
  static Result<Config> Load(const std::filesystem::path& home);
  // Parses and validates TOML text (for tests).
  static Result<Config> Parse(const std::string& toml_text, const std::filesystem::path& home);
  std::string ToToml() const;
  // Fills in defaults that depend on the home directory.
  void ApplyHomeDefaults();
};

}  // namespace gmpki::services
