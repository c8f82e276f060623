// The CA in the same process (all-in-one demo, a ministry node running both the CA and the RA
// role): the RA's requests go straight to CaService as the system actor "ra:<name>" with role
// ra-system; idempotency comes from the CA's request keys ("ra:<name>:<request-id>").
#pragma once

#include <string>

#include "services/ca/ca_service.h"
#include "services/ra_link/ca_gateway.h"

namespace gmpki::ra {

class LocalCaGateway final : public CaGateway {
 public:
  LocalCaGateway(ca::CaService& ca, std::string ra_name);

  std::string RaName() const override { return ra_name_; }
  Result<ca::IssuedCertificate> Issue(const std::string& request_id,
                                      const ca::IssueRequest& request) override;
  std::vector<Result<ca::IssuedCertificate>> IssueMany(
      const std::vector<GatewayIssue>& items) override;
  Result<ca::IssuedCertificate> Renew(const std::string& request_id, const std::string& ca,
                                      const std::string& serial_hex,
                                      std::optional<int> validity_days) override;
  Status Revoke(const std::string& request_id, const std::string& ca,
                const std::string& serial_hex, x509::RevocationReason reason) override;
  Result<ca::DualIssued> IssueEncryption(const std::string& request_id,
                                         const ca::EncryptionIssueRequest& request) override;
  Result<ca::KmKeyDelivery> RecoverEncryptionKey(const std::string& request_id,
                                                 const std::string& ca,
                                                 const std::string& enc_serial,
                                                 const std::string& sign_serial) override;
  Result<ca::CertRecord> GetCertificate(const std::string& ca,
                                        const std::string& serial_hex) override;
  Result<std::vector<Bytes>> CaChain(const std::string& ca) override;

 private:
  ca::CaService& ca_;
  std::string ra_name_;
  services::Actor actor_;
};

// Checks a request ID: 1..128 characters of [A-Za-z0-9._:-]. kInvalidArgument otherwise.
Status ValidateRequestId(std::string_view request_id);

}  // namespace gmpki::ra
