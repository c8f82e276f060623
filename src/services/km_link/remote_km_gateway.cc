#include "services/km_link/remote_km_gateway.h"

#include <nlohmann/json.hpp>

#include "services/ca/ra_protocol.h"
#include "x509/pem.h"

namespace gmpki::km {
namespace {

using nlohmann::json;

Result<ca::KmKeyDelivery> DeliveryFrom(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  auto str = [&](const char* k) -> Result<std::string> {
    if (!j.is_object() || !j.contains(k) || !j[k].is_string()) {
      return Error(ErrorCode::kMalformedInput, std::string("the KM's answer lacks '") + k + "'");
    }
    return j[k].get<std::string>();
  };
  ca::KmKeyDelivery d;
  GMPKI_ASSIGN_OR_RETURN(d.key_id, str("key_id"));
  GMPKI_ASSIGN_OR_RETURN(auto pem, str("enc_public_key"));
  GMPKI_ASSIGN_OR_RETURN(auto spki, x509::PemDecode(pem, "PUBLIC KEY"));
  GMPKI_ASSIGN_OR_RETURN(d.enc_public_key, crypto::Sm2PublicKey::FromSpkiDer(spki));
  GMPKI_ASSIGN_OR_RETURN(auto skf, str("skf_enveloped_key_blob"));
  GMPKI_ASSIGN_OR_RETURN(d.skf_blob, Base64Decode(skf));
  GMPKI_ASSIGN_OR_RETURN(auto ek, str("sm2_enveloped_key"));
  GMPKI_ASSIGN_OR_RETURN(d.sm2_enveloped_key, Base64Decode(ek));
  GMPKI_ASSIGN_OR_RETURN(auto ed, str("enveloped_data"));
  GMPKI_ASSIGN_OR_RETURN(d.enveloped_data, Base64Decode(ed));
  return d;
}

std::string CertPem(ByteView der) { return x509::PemEncode(x509::kPemCertificate, der); }

// Path segments we build from serial references ("<ca>:<hex>") need no escaping: both parts are
// [a-z0-9-] and hex.
}  // namespace

Result<std::unique_ptr<RemoteKmGateway>> RemoteKmGateway::Create(RemoteKmConfig config) {
  if (config.km_url.rfind("https://", 0) != 0) {
    return Error(ErrorCode::kConfigInvalid, "km.url must be an https:// URL (the KM is reached over mutual TLS)");
  }
  while (!config.km_url.empty() && config.km_url.back() == '/') config.km_url.pop_back();
  GMPKI_ASSIGN_OR_RETURN(auto client, net::HttpClient::Create(std::move(config.tls)));
  return std::unique_ptr<RemoteKmGateway>(new RemoteKmGateway(std::move(config), std::move(client)));
}

Result<std::string> RemoteKmGateway::Post(const std::string& path, const std::string& body) {
  GMPKI_ASSIGN_OR_RETURN(auto resp, client_.Post(config_.km_url + path, body));
  if (resp.status == 200) return std::move(resp.body);
  json p = json::parse(resp.body, nullptr, false);
  if (p.is_object() && p.contains("type") && p["type"].is_string()) {
    std::string type = p["type"].get<std::string>();
    std::string detail = p.contains("detail") && p["detail"].is_string() ? p["detail"].get<std::string>() : "";
    return Error(ca::ralink::CodeFromSlug(type.substr(type.find_last_of('/') + 1)), "KM: " + detail);
  }
  return Error(ErrorCode::kUnavailable, "the KM answered HTTP " + std::to_string(resp.status));
}

Result<ca::KmKeyDelivery> RemoteKmGateway::ApplyKey(const std::string& request_id, ByteView sign_cert_der,
                                                    std::int64_t not_after_unix) {
  GMPKI_ASSIGN_OR_RETURN(auto text, Post("/api/v1/km/ca/keys",
                                         json{{"request_id", request_id},
                                              {"sign_certificate", CertPem(sign_cert_der)},
                                              {"not_after", not_after_unix}}
                                             .dump()));
  return DeliveryFrom(text);
}

Status RemoteKmGateway::BindCertificate(const std::string& key_id, const std::string& cert_ref) {
  GMPKI_RETURN_IF_ERROR(Post("/api/v1/km/ca/keys/" + key_id + "/bind", json{{"cert_serial", cert_ref}}.dump()));
  return OkStatus();
}

Status RemoteKmGateway::RevokeKey(const std::string& cert_ref, const std::string& reason) {
  GMPKI_RETURN_IF_ERROR(Post("/api/v1/km/ca/certificates/" + cert_ref + "/revoke", json{{"reason", reason}}.dump()));
  return OkStatus();
}

Result<ca::KmKeyDelivery> RemoteKmGateway::RestoreKey(const std::string& request_id, const std::string& cert_ref,
                                                      ByteView sign_cert_der) {
  GMPKI_ASSIGN_OR_RETURN(auto text, Post("/api/v1/km/ca/certificates/" + cert_ref + "/restore",
                                         json{{"request_id", request_id}, {"sign_certificate", CertPem(sign_cert_der)}}
                                             .dump()));
  return DeliveryFrom(text);
}

}  // namespace gmpki::km
