// A KM reached in-process: the CA's KmGateway over a km::KmService (tests, and a development
// node that runs both roles on two homes in one process). A real deployment reaches its KM over
// mutual TLS (remote_km_gateway.h); the KM still has its own database and device either way.
#pragma once

#include "services/ca/km_gateway.h"
#include "services/km/km_service.h"

namespace gmpki::km {

class LocalKmGateway final : public ca::KmGateway {
 public:
  // `ca` is the KM's registration of the calling CA node (KmService::RegisterCa).
  LocalKmGateway(KmService& km, KmCa ca) : km_(km), ca_(std::move(ca)) {}
  Result<ca::KmKeyDelivery> ApplyKey(const std::string& request_id, ByteView sign_cert_der,
                                     std::int64_t not_after_unix) override;
  Status BindCertificate(const std::string& key_id, const std::string& cert_ref) override;
  Status RevokeKey(const std::string& cert_ref, const std::string& reason) override;
  Result<ca::KmKeyDelivery> RestoreKey(const std::string& request_id, const std::string& cert_ref,
                                       ByteView sign_cert_der) override;

 private:
  KmService& km_;
  KmCa ca_;
};

// The CA's view of a KM delivery.
ca::KmKeyDelivery ToCaDelivery(KeyDelivery d);

}  // namespace gmpki::km
