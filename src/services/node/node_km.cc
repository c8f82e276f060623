// The node's key management parts: the KM service on nodes with role "km", and a CA node's link
// to its KM (KM-01: mutual TLS, the KM serves only the CAs it registered).
#include <algorithm>

#include "net/tls_identity.h"
#include "services/km_link/remote_km_gateway.h"
#include "services/node/node.h"
#include "services/node/node_internal.h"
#include "x509/pem.h"

namespace gmpki::node {
namespace fs = std::filesystem;
using namespace internal;  // NOLINT: this component's helpers
using services::Actor;

bool Node::HasRole(std::string_view role) const {
  return std::find(config_.roles.begin(), config_.roles.end(), role) != config_.roles.end();
}

Status Node::OpenKm() {
  if (HasRole("km")) {
    km::KmSettings s;
    s.node = config_.node_name;
    s.retention_years = config_.km_retention_years;
    s.pool_target = static_cast<std::size_t>(config_.km_pool_target);
    s.pool_low_water = static_cast<std::size_t>(config_.km_pool_low_water);
    s.recovery_window_seconds = config_.km_recovery_window_hours * 3600;
    km_ = std::make_unique<km::KmService>(*db_, *device_, clock_, s);
  }
  if (!config_.km_url.empty()) {
    fs::path dir = config_.home / "km-link";
    km::RemoteKmConfig rc;
    rc.km_url = config_.km_url;
    auto bundle = ReadFile(dir / "tls-ca.pem");
    auto cert = ReadFile(dir / "tls.pem");
    auto key = ReadFile(dir / "tls.key");
    if (!bundle.ok() || !cert.ok() || !key.ok()) {
      return Error(ErrorCode::kConfigInvalid, "km.url is set but " + dir.string() +
                                                  " lacks the link material: run gmpki km-link request / import");
    }
    rc.tls.ca_bundle_pem = std::move(*bundle);
    rc.tls.client_cert_pem = std::move(*cert);
    Bytes kb(key->begin(), key->end());
    SecureZero(key->data(), key->size());
    rc.tls.client_key_pem = SecretBytes::Adopt(kb);
    GMPKI_ASSIGN_OR_RETURN(rc.tls.client_key_passphrase, TlsPassphrase(*device_));
    GMPKI_ASSIGN_OR_RETURN(auto g, km::RemoteKmGateway::Create(std::move(rc)));
    km_gateway_ = std::move(g);
    ca_->SetKmGateway(km_gateway_.get());
  }
  return OkStatus();
}

Result<km::KmService*> Node::Km() {
  if (!km_) {
    return Error(ErrorCode::kFailedPrecondition,
                 "this node does not run the key management centre (node.roles lacks \"km\")");
  }
  return km_.get();
}

Result<nlohmann::json> Node::CreateKmLinkRequest(const std::string& ca_node_name) {
  if (!services::IsValidRaName(ca_node_name)) {
    return Error(ErrorCode::kInvalidArgument, "the CA node's name must be 1..64 of a-z, 0-9 and '-'");
  }
  GMPKI_ASSIGN_OR_RETURN(auto wrap, TlsPassphrase(*device_));
  GMPKI_ASSIGN_OR_RETURN(auto tls_key, net::GenerateTlsKey(wrap.view()));
  GMPKI_ASSIGN_OR_RETURN(auto tls_pub, net::TlsPublicKeyPem(tls_key, wrap.view()));
  // Pending until `km-link import`: a node already linked keeps using its current key meanwhile.
  GMPKI_RETURN_IF_ERROR(WriteFile(config_.home / "km-link" / "pending.key", ToString(tls_key.view()), true));
  return nlohmann::json{{"ca_node", ca_node_name}, {"tls_public_key", tls_pub}};
}

Result<nlohmann::json> Node::EnrolKmCa(const Actor& security_admin, const nlohmann::json& request,
                                       bool replace) {
  GMPKI_RETURN_IF_ERROR(services::Authorize(security_admin, services::Permission::kKmManage));
  GMPKI_ASSIGN_OR_RETURN(auto* km, Km());
  GMPKI_ASSIGN_OR_RETURN(auto name, JsonString(request, "ca_node"));
  GMPKI_ASSIGN_OR_RETURN(auto tls_pub, JsonString(request, "tls_public_key"));
  if (!services::IsValidRaName(name)) {
    return Error(ErrorCode::kInvalidArgument, "ca_node must be 1..64 of a-z, 0-9 and '-'");
  }
  GMPKI_ASSIGN_OR_RETURN(auto tls_ca, LoadTlsIssuer(config_.home, *device_));
  net::TlsCertSpec spec;
  spec.subject_dn = "CN=" + name + ",OU=ca-system,O=gmpki";
  GMPKI_ASSIGN_OR_RETURN(auto tls_cert, net::IssueTlsClientCertificate(tls_ca, tls_pub, spec));
  GMPKI_ASSIGN_OR_RETURN(auto fp, SessionFingerprint(tls_cert));
  GMPKI_RETURN_IF_ERROR(km->RegisterCa(security_admin, name, fp, replace));
  return nlohmann::json{{"ca_node", name}, {"tls_certificate", tls_cert}, {"tls_ca", tls_ca.cert_pem}};
}

Status Node::ImportKmLink(const nlohmann::json& response, const std::string& km_url) {
  GMPKI_ASSIGN_OR_RETURN(auto tls_pem, JsonString(response, "tls_certificate"));
  GMPKI_ASSIGN_OR_RETURN(auto tls_ca, JsonString(response, "tls_ca"));
  fs::path dir = config_.home / "km-link";
  if (!fs::exists(dir / "pending.key")) {
    return Error(ErrorCode::kFailedPrecondition, "no KM link request is pending on this node (km-link/pending.key missing)");
  }
  GMPKI_ASSIGN_OR_RETURN(auto key, ReadFile(dir / "pending.key"));
  GMPKI_ASSIGN_OR_RETURN(auto wrap, TlsPassphrase(*device_));
  Bytes kb(key.begin(), key.end());
  SecureZero(key.data(), key.size());
  SecretBytes key_pem = SecretBytes::Adopt(kb);
  // The certificate must certify the key made here in step 1.
  if (auto st = net::CheckKeyMatchesCertificate(tls_pem, key_pem, wrap.view()); !st.ok()) {
    return Error(ErrorCode::kInvalidArgument, "the KM link certificate is not for this node's TLS key "
                                              "(was the request made here?)");
  }
  services::Config updated = config_;
  updated.km_url = km_url;
  GMPKI_RETURN_IF_ERROR(services::Config::Parse(updated.ToToml(), config_.home));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "tls.pem", tls_pem, false));
  GMPKI_RETURN_IF_ERROR(WriteFile(dir / "tls-ca.pem", tls_ca, false));
  std::error_code ec;
  fs::rename(dir / "pending.key", dir / "tls.key", ec);
  if (ec) return Error(ErrorCode::kIoError, "cannot move km-link/pending.key into place: " + ec.message());
  GMPKI_RETURN_IF_ERROR(WriteFile(config_.home / "gmpki.toml", updated.ToToml(), false));
  config_ = std::move(updated);
  return OkStatus();
}

}  // namespace gmpki::node
