#include "services/ra_link/local_gateway.h"

#include <future>

namespace gmpki::ra {

Status ValidateRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return Error(ErrorCode::kInvalidArgument, "request ID must be 1..128 characters");
  }
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return Error(ErrorCode::kInvalidArgument,
                   "request ID may hold only letters, digits and . _ : -");
    }
  }
  return OkStatus();
}

LocalCaGateway::LocalCaGateway(ca::CaService& ca, std::string ra_name)
    : ca_(ca), ra_name_(std::move(ra_name)), actor_{"ra:" + ra_name_, services::Role::kRaSystem} {}

Result<ca::IssuedCertificate> LocalCaGateway::Issue(const std::string& request_id,
                                                    const ca::IssueRequest& request) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  ca::IssueRequest r = request;
  r.request_key = "ra:" + ra_name_ + ":" + request_id;
  return ca_.Issue(actor_, r);
}

std::vector<Result<ca::IssuedCertificate>> LocalCaGateway::IssueMany(
    const std::vector<GatewayIssue>& items) {
  // Concurrent calls let the CA's group commit make one durable commit for many items.
  std::vector<std::future<Result<ca::IssuedCertificate>>> futures;
  futures.reserve(items.size());
  for (const auto& item : items) {
    futures.push_back(std::async(std::launch::async,
                                 [this, &item] { return Issue(item.request_id, item.request); }));
  }
  std::vector<Result<ca::IssuedCertificate>> out;
  out.reserve(items.size());
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

Result<ca::IssuedCertificate> LocalCaGateway::Renew(const std::string& request_id,
                                                    const std::string& ca,
                                                    const std::string& serial_hex,
                                                    std::optional<int> validity_days) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  return ca_.Renew(actor_, ca, serial_hex, validity_days, "ra:" + ra_name_ + ":" + request_id);
}

Status LocalCaGateway::Revoke(const std::string& request_id, const std::string& ca,
                              const std::string& serial_hex, x509::RevocationReason reason) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  return ca_.RevokeOnce(actor_, ca, serial_hex, reason);
}

Result<ca::DualIssued> LocalCaGateway::IssueEncryption(const std::string& request_id,
                                                       const ca::EncryptionIssueRequest& request) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  ca::EncryptionIssueRequest r = request;
  r.request_key = "ra:" + ra_name_ + ":" + request_id;
  return ca_.IssueEncryption(actor_, r);
}

Result<ca::KmKeyDelivery> LocalCaGateway::RecoverEncryptionKey(const std::string& request_id,
                                                               const std::string& ca,
                                                               const std::string& enc_serial,
                                                               const std::string& sign_serial) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  return ca_.RecoverEncryptionKey(actor_, ca, enc_serial, sign_serial,
                                  "ra:" + ra_name_ + ":" + request_id);
}

Result<ca::CertRecord> LocalCaGateway::GetCertificate(const std::string& ca,
                                                      const std::string& serial_hex) {
  return ca_.GetCertificate(actor_, ca, serial_hex);
}

Result<std::vector<Bytes>> LocalCaGateway::CaChain(const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto chain, ca_.CaChain(ca));
  std::vector<Bytes> out;
  for (const auto& c : chain) out.push_back(c.der());
  return out;
}

}  // namespace gmpki::ra
