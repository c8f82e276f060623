// A KM on another node, over mutually authenticated TLS (KM-01): the CA node presents the TLS
// client certificate the KM's deployment TLS CA issued it (`gmpki km-link`), the KM serves it
// only while its security administrator keeps the CA registered. JSON bodies as in
// services/km/km_routes.h.
#pragma once

#include <memory>
#include <string>

#include "net/client.h"
#include "services/ca/km_gateway.h"

namespace gmpki::km {

struct RemoteKmConfig {
  std::string km_url;     // "https://host:port", no trailing slash
  net::ClientConfig tls;  // trust anchor of the KM's TLS CA + this CA node's client certificate
};

class RemoteKmGateway final : public ca::KmGateway {
 public:
  // kConfigInvalid on bad TLS material or URL.
  static Result<std::unique_ptr<RemoteKmGateway>> Create(RemoteKmConfig config);
  Result<ca::KmKeyDelivery> ApplyKey(const std::string& request_id, ByteView sign_cert_der,
                                     std::int64_t not_after_unix) override;
  Status BindCertificate(const std::string& key_id, const std::string& cert_ref) override;
  Status RevokeKey(const std::string& cert_ref, const std::string& reason) override;
  Result<ca::KmKeyDelivery> RestoreKey(const std::string& request_id, const std::string& cert_ref,
                                       ByteView sign_cert_der) override;

 private:
  RemoteKmGateway(RemoteKmConfig config, net::HttpClient client)
      : config_(std::move(config)), client_(std::move(client)) {}
  Result<std::string> Post(const std::string& path, const std::string& body);

  RemoteKmConfig config_;
  net::HttpClient client_;
};

}  // namespace gmpki::km
