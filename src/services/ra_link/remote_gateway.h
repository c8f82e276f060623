// A CA on another node (province mode 1 and city RAs attached to the ministry or provincial CA;
// HI-03, HI-05): the RA's requests travel over mutually authenticated TLS (the RA's TLS client
// certificate from the CA deployment's TLS CA) and each is signed with the RA's SM2 key, which
// stays in the RA's crypto device (ra_protocol.h). Attaching an RA to a remote CA is
// configuration only: the CA's URL, the TLS material and the device key label.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "device/device.h"
#include "net/client.h"
#include "services/ra_link/ca_gateway.h"

namespace gmpki::ra {

struct RemoteGatewayConfig {
  std::string ra_name;
  std::string ca_url;             // "https://host:port", no trailing slash
  net::ClientConfig tls;          // trust anchor of the CA's TLS CA + the RA's client certificate
  std::string sign_key_label = "ra-link-sign";  // SM2 key in the RA's device
  // Items per issue-many request (the CA accepts up to ralink::kMaxItemsPerRequest).
  std::size_t chunk = 256;
};

class RemoteCaGateway final : public CaGateway {
 public:
  // kNotFound when the signing key is not in the device; kConfigInvalid on bad TLS material.
  static Result<std::unique_ptr<RemoteCaGateway>> Create(RemoteGatewayConfig config,
                                                         device::CryptoDevice& device,
                                                         const Clock& clock);

  std::string RaName() const override { return config_.ra_name; }
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
  RemoteCaGateway(RemoteGatewayConfig config, device::CryptoDevice& device, const Clock& clock,
                  net::HttpClient client, std::uint32_t key_index);
  // Signs and sends one request; the parsed answer, or the CA's error.
  Result<nlohmann::json> Call(const std::string& op, const std::string& request_id,
                              nlohmann::json args);

  RemoteGatewayConfig config_;
  device::CryptoDevice& device_;
  const Clock& clock_;
  net::HttpClient client_;
  std::uint32_t key_index_;
};

}  // namespace gmpki::ra
