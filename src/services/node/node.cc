#include "services/node/node.h"
#include "services/node/node_internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "audit/audit.h"
#include "base/log.h"
#include "crypto/ossl_provider.h"
#include "crypto/random.h"
#include "crypto/self_test.h"
#include "crypto/sm3.h"
#include "device/secret_sharing.h"
#include "device/soft_device.h"
#include "net/tls_identity.h"
#include "services/ra_batch/batch_service.h"
#include "services/ra_link/local_gateway.h"
#include "services/ra_link/remote_gateway.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "net/tls_pki.h"
#include "x509/pem.h"

namespace gmpki::node {
namespace fs = std::filesystem;
using services::Actor;
using services::Role;

namespace internal {

constexpr std::string_view kAuditKeyLabel = "audit";
constexpr std::string_view kTlsWrapContext = "tls-key-passphrase";
constexpr std::string_view kRaSignKeyLabel = "ra-link-sign";
constexpr const char* kDemoRaReviewer = "op-ra-reviewer";
constexpr const char* kDemoRaPoint = "demo-point";

Status WriteFile(const fs::path& p, std::string_view data, bool secret) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  // Secret files are created 0600 from the first byte (no window with wider permissions).
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
  if (fd < 0) return Error(ErrorCode::kIoError, "cannot write " + p.string());
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      return Error(ErrorCode::kIoError, "cannot write " + p.string());
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Error(ErrorCode::kIoError, "cannot write " + p.string());
  return OkStatus();
}

Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Error(ErrorCode::kIoError, "cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The passphrase protecting the TLS keys outside the device: derived inside the device from its
// master key, so the files are useless without k custodian shares.
Result<SecretBytes> TlsPassphrase(device::CryptoDevice& dev) {
  GMPKI_ASSIGN_OR_RETURN(auto s, dev.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, s->DeriveWrappingKey(kTlsWrapContext, 32));
  std::string hex = HexEncode(key.view());
  Bytes b(hex.begin(), hex.end());
  SecureZero(hex.data(), hex.size());
  return SecretBytes::Adopt(b);
}

// The deployment's TLS CA, its key decrypted with the device-derived passphrase.
Result<net::TlsIssuer> LoadTlsIssuer(const fs::path& home, device::CryptoDevice& dev) {
  net::TlsIssuer tls_ca;
  GMPKI_ASSIGN_OR_RETURN(tls_ca.key_passphrase, TlsPassphrase(dev));
  GMPKI_ASSIGN_OR_RETURN(tls_ca.cert_pem, ReadFile(home / "tls" / "ca.pem"));
  GMPKI_ASSIGN_OR_RETURN(auto key, ReadFile(home / "tls" / "ca.key"));
  Bytes kb(key.begin(), key.end());
  SecureZero(key.data(), key.size());
  tls_ca.key_pem = SecretBytes::Adopt(kb);
  return tls_ca;
}

Result<std::string> SessionFingerprint(std::string_view cert_pem) {
  GMPKI_ASSIGN_OR_RETURN(auto der, x509::PemDecode(cert_pem, x509::kPemCertificate));
  auto d = crypto::Sm3(der);
  return HexEncode(d);
}

std::string RoleSlug(Role r) { return std::string(services::RoleName(r)); }

// Creates an operator's TLS client credential (ECDSA P-256 key encrypted under a random
// passphrase, certificate from the deployment's TLS CA) in `dir`; returns its SM3 fingerprint.
Result<std::string> WriteOperatorCredential(const net::TlsIssuer& tls_ca, const std::string& name,
                                            Role role, const fs::path& dir) {
  if (fs::exists(dir)) return Error(ErrorCode::kAlreadyExists, dir.string() + " exists");
  GMPKI_ASSIGN_OR_RETURN(auto rnd, crypto::RandomBytes(16));
  std::string pass = HexEncode(rnd);
  GMPKI_ASSIGN_OR_RETURN(auto key, net::GenerateTlsKey(AsBytes(pass)));
  GMPKI_ASSIGN_OR_RETURN(auto pub, net::TlsPublicKeyPem(key, AsBytes(pass)));
  net::TlsCertSpec spec;
  spec.subject_dn = "CN=" + name + ",OU=" + RoleSlug(role) + ",O=gmpki";
  GMPKI_ASSIGN_OR_RETURN(auto cert, net::IssueTlsClientCertificate(tls_ca, pub, spec));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "cert.pem", cert, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "key.pem", ToString(key.view()), true));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "passphrase", pass + "\n", true));
  SecureZero(pass.data(), pass.size());
  return SessionFingerprint(cert);
}

Result<std::string> JsonString(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) {
    return Error(ErrorCode::kInvalidArgument, std::string("the link file lacks '") + key + "'");
  }
  return j[key].get<std::string>();
}

}  // namespace internal

using namespace internal;  // NOLINT: this file's own helpers

// The CA's settings from the node's configuration. A CA node serving OCSP names its responder
// in the certificates it issues (authorityInfoAccess id-ad-ocsp, RFC 5280 §4.2.2.1).
static ca::CaSettings CaSettingsFor(const services::Config& cfg) {
  ca::CaSettings s{cfg.node_name, cfg.public_base_url, cfg.crl_validity_hours, cfg.crl_partition_size};
  const bool serves_ca = cfg.roles.empty() ||
                         std::find(cfg.roles.begin(), cfg.roles.end(), "ca") != cfg.roles.end();
  if (cfg.ocsp_enabled && serves_ca) s.ocsp_url = cfg.public_base_url + "/ocsp";
  return s;
}

std::vector<store::Migration> AllMigrations() {
  std::vector<store::Migration> all = services::CoreMigrations();
  for (auto& m : audit::AuditMigrations()) all.push_back(std::move(m));
  for (auto& m : ca::CaMigrations()) all.push_back(std::move(m));
  for (auto& m : ra::RaMigrations()) all.push_back(std::move(m));
  for (auto& m : cmp::CmpMigrations()) all.push_back(std::move(m));
  for (auto& m : ra_batch::BatchMigrations()) all.push_back(std::move(m));
  for (auto& m : km::KmMigrations()) all.push_back(std::move(m));
  for (auto& m : va::VaMigrations()) all.push_back(std::move(m));
  for (auto& m : evidence::EvidenceMigrations()) all.push_back(std::move(m));
  return all;
}

std::string InitialOperatorName(Role role) { return "op-" + RoleSlug(role); }

Result<Credential> LoadCredential(const fs::path& dir, std::optional<std::string> pass) {
  Credential c;
  GMPKI_ASSIGN_OR_RETURN(c.cert_pem, ReadFile(dir / "cert.pem"));
  GMPKI_ASSIGN_OR_RETURN(auto key, ReadFile(dir / "key.pem"));
  Bytes kb(key.begin(), key.end());
  SecureZero(key.data(), key.size());
  c.key_pem = SecretBytes::Adopt(kb);
  std::string p;
  if (pass) {
    p = *pass;
  } else {
    auto f = ReadFile(dir / "passphrase");
    if (!f.ok()) {
      return Error(ErrorCode::kUnauthenticated,
                   "no passphrase for the credential in " + dir.string() +
                       " (set GMPKI_PASSPHRASE or keep a passphrase file there)");
    }
    p = Trim(*f);
  }
  Bytes pb(p.begin(), p.end());
  SecureZero(p.data(), p.size());
  c.passphrase = SecretBytes::Adopt(pb);
  return c;
}

Result<std::string> VerifyCredential(const Credential& c) {
  auto st = net::CheckKeyMatchesCertificate(c.cert_pem, c.key_pem, c.passphrase.view());
  if (!st.ok()) return Error(ErrorCode::kUnauthenticated, st.error().message());
  return SessionFingerprint(c.cert_pem);
}

Result<InitResult> InitHome(const InitOptions& o, const Clock& clock) {
  if (fs::exists(o.home / "gmpki.toml")) {
    return Error(ErrorCode::kAlreadyExists, o.home.string() + " is already a gmpki home");
  }
  if (!o.demo && o.secrets_out.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "a production home needs --secrets-out DIR for the custodian shares and the "
                 "initial operator credentials (or use --demo)");
  }
  GMPKI_RETURN_IF_ERROR(crypto::RunSelfTests());
  services::Config cfg;
  cfg.home = fs::absolute(o.home);
  cfg.demo = o.demo;
  cfg.listen = o.listen;
  cfg.http_listen = o.http_listen;
  cfg.device_threshold = o.threshold;
  cfg.device_shares = o.shares;
  cfg.database_url = o.database_url;
  auto port = o.http_listen.substr(o.http_listen.rfind(':') + 1);
  auto host = o.http_listen.substr(0, o.http_listen.rfind(':'));
  cfg.public_base_url = "http://" + host + ":" + port;
  // The all-in-one demo runs the CA and the registration service in one process.
  if (!o.roles.empty()) {
    cfg.roles = o.roles;
  } else if (o.demo) {
    cfg.roles = {"ca", "ra"};
  }
  auto has_role = [&](const char* r) { return std::find(cfg.roles.begin(), cfg.roles.end(), r) != cfg.roles.end(); };
  cfg.ApplyHomeDefaults();
  // Validate what we are about to write with the same code that reads it.
  GMPKI_RETURN_IF_ERROR(services::Config::Parse(cfg.ToToml(), cfg.home));
  std::error_code ec;
  fs::create_directories(cfg.home / "device", ec);
  fs::create_directories(cfg.home / "tls", ec);
  if (ec) return Error(ErrorCode::kIoError, "cannot create " + cfg.home.string() + ": " + ec.message());
  fs::path secrets = o.demo ? cfg.home / "demo" : fs::absolute(o.secrets_out);

  InitResult result;
  // 1. The device master key, split among the key custodians (k of n).
  SecretBytes master;
  if (o.from_shares.empty()) {
    GMPKI_ASSIGN_OR_RETURN(master, device::GenerateMasterKey());
    GMPKI_ASSIGN_OR_RETURN(auto shares, device::SplitSecret(master.view(), o.threshold, o.shares));
    for (std::size_t i = 0; i < shares.size(); ++i) {
      fs::path p = secrets / "custodians" / ("share-" + std::to_string(i + 1) + ".txt");
      GMPKI_RETURN_IF_ERROR(WriteFile(p, shares[i] + "\n", true));
      SecureZero(shares[i].data(), shares[i].size());
      result.share_files.push_back(p);
    }
  } else {
    std::vector<std::string> given;
    for (const auto& f : o.from_shares) {
      GMPKI_ASSIGN_OR_RETURN(auto text, ReadFile(f));
      given.push_back(Trim(text));
      SecureZero(text.data(), text.size());
    }
    auto combined = device::CombineShares(given);
    if (!combined.ok()) {
      for (auto& g : given) SecureZero(g.data(), g.size());
      return combined.error();
    }
    master = std::move(*combined);
    // Only a demo home keeps shares under the home; a production home keeps none.
    for (std::size_t i = 0; o.demo && i < given.size(); ++i) {
      fs::path p = secrets / "custodians" / ("share-" + std::to_string(i + 1) + ".txt");
      GMPKI_RETURN_IF_ERROR(WriteFile(p, given[i] + "\n", true));
      result.share_files.push_back(p);
    }
    for (auto& g : given) SecureZero(g.data(), g.size());
  }
  if (o.demo) {
    std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(o.threshold), result.share_files.size());
    cfg.share_files.assign(result.share_files.begin(), result.share_files.begin() + k);
  }
  GMPKI_ASSIGN_OR_RETURN(auto dev_u, device::SoftDevice::Create(cfg.device_file, master));
  master.Wipe();
  std::unique_ptr<device::CryptoDevice> dev = std::move(dev_u);
  {
    GMPKI_ASSIGN_OR_RETURN(auto s, dev->OpenSession());
    GMPKI_RETURN_IF_ERROR(s->GenerateKeyPair(kAuditKeyLabel, device::KeyPurpose::kSign));
    // The evidence log's tree-head key (AS-06, node_services.cc).
    GMPKI_RETURN_IF_ERROR(s->GenerateKeyPair("evidence-log", device::KeyPurpose::kSign));
  }
  // 2. Database and schema.
  GMPKI_ASSIGN_OR_RETURN(auto db, store::OpenDatabase(cfg.database_url));
  GMPKI_RETURN_IF_ERROR(db->Migrate(AllMigrations()));

  // 3. TLS: the deployment's TLS CA, the server certificate, one operator credential per role.
  GMPKI_ASSIGN_OR_RETURN(auto wrap, TlsPassphrase(*dev));
  GMPKI_ASSIGN_OR_RETURN(auto tls_ca, net::CreateTlsCa("CN=gmpki TLS CA,O=gmpki", wrap.view()));
  GMPKI_RETURN_IF_ERROR(WriteFile(cfg.home / "tls" / "ca.pem", tls_ca.cert_pem, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(cfg.home / "tls" / "ca.key", ToString(tls_ca.key_pem.view()), true));
  GMPKI_ASSIGN_OR_RETURN(auto server_key, net::GenerateTlsKey(wrap.view()));
  GMPKI_ASSIGN_OR_RETURN(auto server_pub, net::TlsPublicKeyPem(server_key, wrap.view()));
  net::TlsCertSpec server_spec;
  server_spec.subject_dn = "CN=gmpki-server,O=gmpki";
  server_spec.dns_names = {"localhost"};
  server_spec.ip_addresses = {"127.0.0.1"};
  GMPKI_ASSIGN_OR_RETURN(auto server_cert, net::IssueTlsServerCertificate(tls_ca, server_pub, server_spec));
  GMPKI_RETURN_IF_ERROR(WriteFile(cfg.tls_cert, server_cert + tls_ca.cert_pem, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(cfg.tls_key, ToString(server_key.view()), true));

  services::OperatorRegistry registry(*db, clock, cfg.node_name);
  for (Role role : services::OperatorRoles()) {
    std::string name = InitialOperatorName(role);
    fs::path dir = secrets / "operators" / name;
    GMPKI_ASSIGN_OR_RETURN(auto fp, WriteOperatorCredential(tls_ca, name, role, dir));
    GMPKI_RETURN_IF_ERROR(registry.Enrol(std::nullopt, name, role, name, fp));
    result.credential_dirs.push_back(dir);
  }

  // 4. Demo hierarchy: root -> industry CA -> business CA (LD/T 02.1 §7.2), with first CRLs.
  if (o.demo && o.demo_hierarchy && has_role("ca")) {
    ca::CaSettings settings = CaSettingsFor(cfg);
    ca::CaService ca(*db, *dev, clock, settings);
    Actor sec{InitialOperatorName(Role::kSecurityAdmin), Role::kSecurityAdmin};
    Actor op{InitialOperatorName(Role::kCaOperator), Role::kCaOperator};
    GMPKI_RETURN_IF_ERROR(ca.CreateRoot(sec, "root-ca", "C=CN,O=gmpki demo,CN=gmpki Demo Root CA", 7300));
    GMPKI_RETURN_IF_ERROR(ca.CreateSubordinate(sec, "root-ca", "industry-ca",
                                               "C=CN,O=MOHRSS,CN=HRSS Industry CA (demo)",
                                               "industry", 5475));
    GMPKI_RETURN_IF_ERROR(ca.CreateSubordinate(sec, "industry-ca", "ministry-ca",
                                               "C=CN,O=MOHRSS,OU=Ministry,CN=HRSS Ministry CA (demo)",
                                               "business", 3650));
    for (const char* name : {"root-ca", "industry-ca", "ministry-ca"}) {
      GMPKI_RETURN_IF_ERROR(ca.IssueCrl(op, name, false));
      result.cas.emplace_back(name);
    }
  }
  // 5. Demo registration: a registration point with two RA operators (entry and review are
  // four-eyes), so a new user can enter, review and request at once.
  if (o.demo && has_role("ra") && has_role("ca")) {
    std::string reviewer = kDemoRaReviewer;
    fs::path dir = secrets / "operators" / reviewer;
    GMPKI_ASSIGN_OR_RETURN(auto fp, WriteOperatorCredential(tls_ca, reviewer, Role::kRaOperator, dir));
    Actor sys{InitialOperatorName(Role::kSystemAdmin), Role::kSystemAdmin};
    GMPKI_RETURN_IF_ERROR(registry.Enrol(sys, reviewer, Role::kRaOperator, reviewer, fp));
    result.credential_dirs.push_back(dir);
    ca::CaService ca(*db, *dev, clock, CaSettingsFor(cfg));
    ra::LocalCaGateway gateway(ca, cfg.ra_name);
    GMPKI_ASSIGN_OR_RETURN(auto codec, pii::PiiCodec::Create(*dev));
    ra::RaService ra(*db, std::make_shared<const pii::PiiCodec>(std::move(codec)), gateway, clock,
                     ra::RaSettings{cfg.node_name, cfg.ra_name});
    GMPKI_RETURN_IF_ERROR(ra.CreatePoint(sys, kDemoRaPoint, "Demo registration point", "demo"));
    GMPKI_RETURN_IF_ERROR(ra.BindOperator(sys, InitialOperatorName(Role::kRaOperator), kDemoRaPoint));
    GMPKI_RETURN_IF_ERROR(ra.BindOperator(sys, reviewer, kDemoRaPoint));
    // A CMP reference and shared secret for the demo RA (`gmpki cmp demo --json` prints them).
    if (o.demo_hierarchy) {
      cmp::CmpService cmp(*db, *dev, ca, clock, cfg.node_name);
      GMPKI_RETURN_IF_ERROR(cmp.EnsureDemoClient("ministry-ca"));
    }
  }
  // 6. Demo KM: a second recovery officer, so that judicial recovery (dual control) can be tried.
  if (o.demo && has_role("km")) {
    std::string second = InitialOperatorName(Role::kKmOfficer) + "-2";
    fs::path dir = secrets / "operators" / second;
    GMPKI_ASSIGN_OR_RETURN(auto fp, WriteOperatorCredential(tls_ca, second, Role::kKmOfficer, dir));
    Actor sys{InitialOperatorName(Role::kSystemAdmin), Role::kSystemAdmin};
    GMPKI_RETURN_IF_ERROR(registry.Enrol(sys, second, Role::kKmOfficer, second, fp));
    result.credential_dirs.push_back(dir);
  }
  {
    GMPKI_ASSIGN_OR_RETURN(auto s, dev->OpenSession());
    GMPKI_ASSIGN_OR_RETURN(auto key, s->FindKey(kAuditKeyLabel));
    GMPKI_RETURN_IF_ERROR(audit::SignCheckpoint(*db, *s, key.index, clock));
  }
  // 7. The configuration is written last: a home without gmpki.toml is never opened.
  GMPKI_RETURN_IF_ERROR(WriteFile(cfg.home / "gmpki.toml", cfg.ToToml(), false));
  return result;
}

Result<std::unique_ptr<Node>> Node::Open(const fs::path& home, const std::vector<fs::path>& share_files) {
  // CC-FPT: known-answer self-tests before any key is touched.
  if (auto st = crypto::RunSelfTests(); !st.ok()) {
    return Error(ErrorCode::kSelfTestFailure, "start-up self-test failed: " + st.error().message());
  }
  // OpenSSL's SM2 operations (TLS chains, CMP protection) run on our engine through the provider;
  // a failed installation stops the start rather than silently leaving OpenSSL's SM2 in use.
  GMPKI_RETURN_IF_ERROR(crypto::InstallSm2Provider());
  std::unique_ptr<Node> n(new Node());
  GMPKI_ASSIGN_OR_RETURN(n->config_, services::Config::Load(fs::absolute(home)));
  std::vector<fs::path> files = share_files.empty() ? n->config_.share_files : share_files;
  if (files.empty()) {
    return Error(ErrorCode::kConfigInvalid,
                 "no custodian shares given: pass --share-file for at least " +
                     std::to_string(n->config_.device_threshold) + " custodians");
  }
  std::vector<std::string> shares;
  for (const auto& f : files) {
    GMPKI_ASSIGN_OR_RETURN(auto s, ReadFile(f));
    shares.push_back(Trim(s));
    SecureZero(s.data(), s.size());
  }
  auto master = device::CombineShares(shares);
  for (auto& s : shares) SecureZero(s.data(), s.size());
  if (!master.ok()) return master.error();
  GMPKI_ASSIGN_OR_RETURN(auto dev, device::SoftDevice::Open(n->config_.device_file, *master));
  master->Wipe();
  n->device_ = std::move(dev);
  GMPKI_ASSIGN_OR_RETURN(n->db_, store::OpenDatabase(n->config_.database_url));
  GMPKI_RETURN_IF_ERROR(n->db_->Migrate(AllMigrations()));
  ca::CaSettings settings = CaSettingsFor(n->config_);
  n->ca_ = std::make_unique<ca::CaService>(*n->db_, *n->device_, n->clock_, settings);
  n->operators_ = std::make_unique<services::OperatorRegistry>(*n->db_, n->clock_, n->config_.node_name);
  n->ra_trust_ = std::make_unique<ca::RaTrust>(*n->db_, *n->ca_, n->clock_, n->config_.node_name);
  n->cmp_ = std::make_unique<cmp::CmpService>(*n->db_, *n->device_, *n->ca_, n->clock_, n->config_.node_name);
  GMPKI_RETURN_IF_ERROR(n->OpenKm());
  return n;
}

Node::~Node() = default;

Status Node::CheckpointAudit() {
  GMPKI_ASSIGN_OR_RETURN(auto s, device_->OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, s->FindKey(kAuditKeyLabel));
  GMPKI_RETURN_IF_ERROR(audit::SignCheckpoint(*db_, *s, key.index, clock_));
  return OkStatus();
}

Result<services::OperatorRecord> Node::EnrolOperator(const services::Actor& by,
                                                     const std::string& name, Role role,
                                                     const std::string& person,
                                                     const fs::path& out_dir) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(by, services::Permission::kOperatorManage));
  GMPKI_ASSIGN_OR_RETURN(auto tls_ca, LoadTlsIssuer(config_.home, *device_));
  fs::path dir = out_dir / name;
  GMPKI_ASSIGN_OR_RETURN(auto fp, WriteOperatorCredential(tls_ca, name, role, dir));
  auto rec = operators_->Enrol(by, name, role, person, fp);
  if (!rec.ok()) {
    std::error_code ec;
    fs::remove_all(dir, ec);  // the refused enrolment leaves no credential behind
  }
  return rec;
}

Result<audit::VerifyReport> Node::VerifyAudit() {
  GMPKI_ASSIGN_OR_RETURN(auto s, device_->OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, s->FindKey(kAuditKeyLabel));
  return audit::VerifyAudit(*db_, key.public_key);
}

Result<Node::TlsMaterial> Node::LoadServerTls() {
  TlsMaterial m;
  GMPKI_ASSIGN_OR_RETURN(m.cert_chain_pem, ReadFile(config_.tls_cert));
  GMPKI_ASSIGN_OR_RETURN(auto key, ReadFile(config_.tls_key));
  Bytes kb(key.begin(), key.end());
  SecureZero(key.data(), key.size());
  m.key_pem = SecretBytes::Adopt(kb);
  GMPKI_ASSIGN_OR_RETURN(m.passphrase, TlsPassphrase(*device_));
  GMPKI_ASSIGN_OR_RETURN(m.client_ca_pem, ReadFile(config_.tls_client_ca));
  return m;
}


Result<nlohmann::json> Node::CreateRaLinkRequest(const std::string& ra_name) {
  std::shared_ptr<device::Session> session;
  {
    GMPKI_ASSIGN_OR_RETURN(auto s, device_->OpenSession());
    session = std::move(s);
  }
  auto key = session->FindKey(kRaSignKeyLabel);
  if (!key.ok() && key.error().code() == ErrorCode::kNotFound) {
    key = session->GenerateKeyPair(kRaSignKeyLabel, device::KeyPurpose::kSign);
  }
  if (!key.ok()) return key.error();
  x509::Signer signer;
  signer.public_key = key->public_key;
  std::uint32_t index = key->index;
  signer.sign = [session, index](ByteView message) {
    return session->SignMessage(index, AsBytes(crypto::kDefaultSm2Id), message);
  };
  GMPKI_ASSIGN_OR_RETURN(auto subject, x509::Name::Parse("O=gmpki RA,CN=" + ra_name));
  GMPKI_ASSIGN_OR_RETURN(auto csr, x509::BuildCsr(subject, signer));
  // The TLS client key: P-256 (OpenSSL 3.0 has no SM2 TLS), wrapped like the server's key.
  GMPKI_ASSIGN_OR_RETURN(auto wrap, TlsPassphrase(*device_));
  fs::path dir = config_.home / "ra-link";
  GMPKI_ASSIGN_OR_RETURN(auto tls_key, net::GenerateTlsKey(wrap.view()));
  GMPKI_ASSIGN_OR_RETURN(auto tls_pub, net::TlsPublicKeyPem(tls_key, wrap.view()));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "tls.key", ToString(tls_key.view()), true));
  return nlohmann::json{{"ra", ra_name},
                        {"sign_csr", x509::PemEncode(x509::kPemCsr, csr)},
                        {"tls_public_key", tls_pub}};
}

Result<nlohmann::json> Node::EnrolRa(const Actor& ca_operator, const Actor& security_admin,
                                     const nlohmann::json& request, const RaEnrolOptions& o) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(security_admin, services::Permission::kRaManage));
  GMPKI_ASSIGN_OR_RETURN(auto name, JsonString(request, "ra"));
  GMPKI_ASSIGN_OR_RETURN(auto csr, JsonString(request, "sign_csr"));
  GMPKI_ASSIGN_OR_RETURN(auto tls_pub, JsonString(request, "tls_public_key"));
  if (o.issuer_ca.empty() && o.cas.empty()) {
    return Error(ErrorCode::kInvalidArgument, "name the CA that issues the RA's certificate");
  }
  ca::IssuedCertificate sign_cert;
  if (request.contains("sign_certificate")) {
    // Issued beforehand by a CA operator (production: two operators, two commands).
    GMPKI_ASSIGN_OR_RETURN(sign_cert.pem, JsonString(request, "sign_certificate"));
  } else {
    ca::IssueRequest ir;
    ir.ca = o.issuer_ca;
    ir.profile = "device-sign";
    ir.csr = ToBytes(csr);
    ir.request_key = "ra-enrol:" + name;
    GMPKI_ASSIGN_OR_RETURN(sign_cert, ca_->Issue(ca_operator, ir));
  }
  GMPKI_ASSIGN_OR_RETURN(auto tls_ca, LoadTlsIssuer(config_.home, *device_));
  net::TlsCertSpec spec;
  spec.subject_dn = "CN=" + name + ",OU=ra-system,O=gmpki";
  GMPKI_ASSIGN_OR_RETURN(auto tls_cert, net::IssueTlsClientCertificate(tls_ca, tls_pub, spec));
  GMPKI_ASSIGN_OR_RETURN(auto fp, SessionFingerprint(tls_cert));
  ca::RaEnrolment e;
  e.name = name;
  e.sign_cert = ToBytes(sign_cert.pem);
  e.tls_fingerprint = fp;
  e.cas = o.cas.empty() ? std::vector<std::string>{o.issuer_ca} : o.cas;
  e.profiles = o.profiles.empty()
                   ? std::vector<std::string>{"personal-sign", "organization-sign", "device-sign"}
                   : o.profiles;
  GMPKI_RETURN_IF_ERROR(ra_trust_->Enrol(security_admin, e));
  return nlohmann::json{{"ra", name},
                        {"sign_certificate", sign_cert.pem},
                        {"tls_certificate", tls_cert},
                        {"tls_ca", tls_ca.cert_pem},
                        {"cas", e.cas},
                        {"profiles", e.profiles}};
}

Status Node::ImportRaLink(const nlohmann::json& response, const std::string& ca_url) {
  GMPKI_ASSIGN_OR_RETURN(auto name, JsonString(response, "ra"));
  GMPKI_ASSIGN_OR_RETURN(auto sign_pem, JsonString(response, "sign_certificate"));
  GMPKI_ASSIGN_OR_RETURN(auto tls_pem, JsonString(response, "tls_certificate"));
  GMPKI_ASSIGN_OR_RETURN(auto tls_ca, JsonString(response, "tls_ca"));
  // The signing certificate must certify the key this node generated in step 1.
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromPem(sign_pem));
  GMPKI_ASSIGN_OR_RETURN(auto session, device_->OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, session->FindKey(kRaSignKeyLabel));
  if (!(cert.public_key() == key.public_key)) {
    return Error(ErrorCode::kInvalidArgument,
                 "the RA signing certificate is not for this node's key (was the request made here?)");
  }
  fs::path dir = config_.home / "ra-link";
  if (!fs::exists(dir / "tls.key")) {
    return Error(ErrorCode::kFailedPrecondition, "no RA link request was made on this node (ra-link/tls.key missing)");
  }
  services::Config updated = config_;
  updated.ra_name = name;
  updated.ra_ca_url = ca_url;
  // Validate before writing anything.
  GMPKI_RETURN_IF_ERROR(services::Config::Parse(updated.ToToml(), config_.home));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "sign.pem", sign_pem, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "tls.pem", tls_pem, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "tls-ca.pem", tls_ca, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(config_.home / "gmpki.toml", updated.ToToml(), false));
  config_ = std::move(updated);
  return OkStatus();
}

Result<std::shared_ptr<const pii::PiiCodec>> Node::Pii() {
  std::lock_guard<std::mutex> lock(gateway_mu_);
  if (!pii_) {
    GMPKI_ASSIGN_OR_RETURN(auto codec, pii::PiiCodec::Create(*device_));
    pii_ = std::make_shared<const pii::PiiCodec>(std::move(codec));
  }
  return pii_;
}

Result<ra::RaService*> Node::Ra() {
  GMPKI_ASSIGN_OR_RETURN(auto codec, Pii());
  GMPKI_ASSIGN_OR_RETURN(auto* gateway, CaGateway());
  std::lock_guard<std::mutex> lock(gateway_mu_);
  if (!ra_) {
    ra_ = std::make_unique<ra::RaService>(*db_, codec, *gateway, clock_,
                                          ra::RaSettings{config_.node_name, config_.ra_name});
  }
  return ra_.get();
}

Result<ra::CaGateway*> Node::CaGateway() {
  std::lock_guard<std::mutex> lock(gateway_mu_);
  if (gateway_) return gateway_.get();
  if (config_.ra_ca_url.empty()) {
    gateway_ = std::make_unique<ra::LocalCaGateway>(*ca_, config_.ra_name);
    return gateway_.get();
  }
  fs::path dir = config_.home / "ra-link";
  ra::RemoteGatewayConfig rc;
  rc.ra_name = config_.ra_name;
  rc.ca_url = config_.ra_ca_url;
  GMPKI_ASSIGN_OR_RETURN(rc.tls.ca_bundle_pem, ReadFile(dir / "tls-ca.pem"));
  GMPKI_ASSIGN_OR_RETURN(rc.tls.client_cert_pem, ReadFile(dir / "tls.pem"));
  GMPKI_ASSIGN_OR_RETURN(auto key, ReadFile(dir / "tls.key"));
  Bytes kb(key.begin(), key.end());
  SecureZero(key.data(), key.size());
  rc.tls.client_key_pem = SecretBytes::Adopt(kb);
  GMPKI_ASSIGN_OR_RETURN(rc.tls.client_key_passphrase, TlsPassphrase(*device_));
  rc.sign_key_label = std::string(kRaSignKeyLabel);
  GMPKI_ASSIGN_OR_RETURN(auto g, ra::RemoteCaGateway::Create(std::move(rc), *device_, clock_));
  gateway_ = std::move(g);
  return gateway_.get();
}

}  // namespace gmpki::node
