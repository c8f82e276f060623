#include "services/km_link/local_km_gateway.h"

namespace gmpki::km {

ca::KmKeyDelivery ToCaDelivery(KeyDelivery d) {
  return ca::KmKeyDelivery{d.key.key_id, d.key.enc_public_key, std::move(d.skf_blob),
                           std::move(d.sm2_enveloped_key), std::move(d.enveloped_data)};
}

Result<ca::KmKeyDelivery> LocalKmGateway::ApplyKey(const std::string& request_id, ByteView sign_cert_der,
                                                   std::int64_t not_after_unix) {
  ApplyKeyRequest req{request_id, Bytes(sign_cert_der.begin(), sign_cert_der.end()), not_after_unix, ""};
  GMPKI_ASSIGN_OR_RETURN(auto d, km_.ApplyKey(ca_, req));
  return ToCaDelivery(std::move(d));
}

Status LocalKmGateway::BindCertificate(const std::string& key_id, const std::string& cert_ref) {
  return km_.BindCertificate(ca_, key_id, cert_ref);
}

Status LocalKmGateway::RevokeKey(const std::string& cert_ref, const std::string& reason) {
  return km_.RevokeKey(ca_, cert_ref, reason);
}

Result<ca::KmKeyDelivery> LocalKmGateway::RestoreKey(const std::string& request_id, const std::string& cert_ref,
                                                     ByteView sign_cert_der) {
  RestoreKeyRequest req{request_id, cert_ref, Bytes(sign_cert_der.begin(), sign_cert_der.end())};
  GMPKI_ASSIGN_OR_RETURN(auto d, km_.RestoreKey(ca_, req));
  return ToCaDelivery(std::move(d));
}

}  // namespace gmpki::km
