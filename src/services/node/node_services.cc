// The node's LDAP publication and evidence log: created on first use from the configuration.
#include "services/node/node.h"

namespace gmpki::node {

namespace {
constexpr std::string_view kEvidenceKeyLabel = "evidence-log";
}  // namespace

Result<directory::DirectorySync*> Node::Directory() {
  std::lock_guard<std::mutex> lock(services_mu_);
  if (directory_) return directory_.get();
  if (config_.directory_url.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "LDAP publication is off: set [directory] url, bind_dn and password_file");
  }
  directory::LdapSettings s;
  s.url = config_.directory_url;
  s.bind_dn = config_.directory_bind_dn;
  s.password_file = config_.directory_password_file.string();
  s.suffix = config_.directory_suffix;
  GMPKI_ASSIGN_OR_RETURN(ldap_, directory::LdapPublisher::Create(s));
  const auto policy = config_.directory_revoked_policy == "remove"
                          ? directory::RevokedPolicy::kRemove
                          : directory::RevokedPolicy::kKeep;
  directory_ = std::make_unique<directory::DirectorySync>(*db_, *ldap_, policy);
  return directory_.get();
}

Result<evidence::EvidenceLog*> Node::Evidence() {
  std::lock_guard<std::mutex> lock(services_mu_);
  if (evidence_) return evidence_.get();
  {
    GMPKI_ASSIGN_OR_RETURN(auto session, device_->OpenSession());
    auto key = session->FindKey(kEvidenceKeyLabel);
    if (!key.ok()) {
      if (key.error().code() != ErrorCode::kNotFound) return key.error();
      GMPKI_RETURN_IF_ERROR(
          session->GenerateKeyPair(kEvidenceKeyLabel, device::KeyPurpose::kSign));
    }
  }
  evidence::EvidenceLogOptions o;
  o.key_label = std::string(kEvidenceKeyLabel);
  GMPKI_ASSIGN_OR_RETURN(evidence_, evidence::EvidenceLog::Open(*db_, *device_, clock_, o));
  return evidence_.get();
}

Result<Node::OcspStack*> Node::Ocsp() {
  std::lock_guard<std::mutex> lock(services_mu_);
  if (ocsp_) return ocsp_.get();
  if (!HasRole("ca") || !config_.ocsp_enabled) {
    return Error(ErrorCode::kFailedPrecondition,
                 "this node does not serve OCSP (needs role \"ca\" and [ocsp] enabled)");
  }
  auto stack = std::make_unique<OcspStack>();
  stack->source = std::make_unique<va::CaStatusSource>(*db_, stack->index, clock_);
  GMPKI_ASSIGN_OR_RETURN(auto loaded, stack->source->LoadAll());
  (void)loaded;
  va::ResponderSettings rs;
  rs.validity = std::chrono::minutes(config_.ocsp_validity_minutes);
  rs.refresh_margin = std::chrono::minutes(config_.ocsp_refresh_margin_minutes);
  rs.cache_budget_bytes = static_cast<std::size_t>(config_.ocsp_cache_mb) << 20;
  stack->responder = std::make_unique<va::OcspResponder>(stack->index, rs);
  stack->signers = std::make_unique<va::OcspSignerManager>(*db_, *device_, clock_);
  // Delegated signers (RFC 6960 §4.2.2.2): issued by each CA to a key in this node's device,
  // under the name of the OCSP service.
  const services::Actor ocsp_actor{"ocsp-service", services::Role::kCaOperator};
  GMPKI_ASSIGN_OR_RETURN(auto provisioned,
                         stack->signers->ProvisionAll(ocsp_actor, *ca_, *stack->responder));
  (void)provisioned;
  ocsp_ = std::move(stack);
  return ocsp_.get();
}

}  // namespace gmpki::node
