#include "services/ra_link/remote_gateway.h"

#include <atomic>
#include <future>

#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "services/ca/ra_protocol.h"
#include "services/ra_link/local_gateway.h"
#include "x509/pem.h"

namespace gmpki::ra {
namespace {
using nlohmann::json;
namespace ralink = ca::ralink;

Result<ca::IssuedCertificate> IssuedFrom(const json& j) {
  GMPKI_ASSIGN_OR_RETURN(auto rec, ralink::CertRecordFromJson(j));
  std::string pem = x509::PemEncode(x509::kPemCertificate, rec.der);
  return ca::IssuedCertificate{std::move(rec), std::move(pem)};
}
}  // namespace

RemoteCaGateway::RemoteCaGateway(RemoteGatewayConfig config, device::CryptoDevice& device,
                                 const Clock& clock, net::HttpClient client, std::uint32_t key_index)
    : config_(std::move(config)), device_(device), clock_(clock), client_(std::move(client)),
      key_index_(key_index) {}

Result<std::unique_ptr<RemoteCaGateway>> RemoteCaGateway::Create(RemoteGatewayConfig config,
                                                                 device::CryptoDevice& device,
                                                                 const Clock& clock) {
  if (config.ca_url.rfind("https://", 0) != 0) {
    return Error(ErrorCode::kConfigInvalid, "the CA URL of a registration system must be https:// (mutual TLS)");
  }
  while (!config.ca_url.empty() && config.ca_url.back() == '/') config.ca_url.pop_back();
  if (config.chunk == 0 || config.chunk > ralink::kMaxItemsPerRequest) {
    return Error(ErrorCode::kConfigInvalid, "issue-many chunk must be 1.." + std::to_string(ralink::kMaxItemsPerRequest));
  }
  GMPKI_ASSIGN_OR_RETURN(auto session, device.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(auto key, session->FindKey(config.sign_key_label));
  GMPKI_ASSIGN_OR_RETURN(auto client, net::HttpClient::Create(std::move(config.tls)));
  return std::unique_ptr<RemoteCaGateway>(
      new RemoteCaGateway(std::move(config), device, clock, std::move(client), key.index));
}

Result<json> RemoteCaGateway::Call(const std::string& op, const std::string& request_id, json args) {
  std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
  json payload{{"v", 1}, {"ra", config_.ra_name}, {"request_id", request_id}, {"created_ms", now_ms},
               {"op", op}, {"args", std::move(args)}};
  ralink::Envelope env;
  env.payload = payload.dump();
  {
    GMPKI_ASSIGN_OR_RETURN(auto session, device_.OpenSession());
    GMPKI_ASSIGN_OR_RETURN(env.signature, session->SignMessage(key_index_, AsBytes(crypto::kDefaultSm2Id),
                                                               AsBytes(env.payload)));
  }
  GMPKI_ASSIGN_OR_RETURN(auto resp, client_.Post(config_.ca_url + std::string(ralink::kRaLinkPath),
                                                 ralink::EncodeEnvelope(env)));
  json body = json::parse(resp.body, nullptr, false);
  if (resp.status != 200) {
    // RFC 9457 problem: the type's last segment is the error's slug.
    if (body.is_object() && body.contains("type") && body["type"].is_string()) {
      std::string type = body["type"].get<std::string>();
      std::string slug = type.substr(type.find_last_of('/') + 1);
      std::string detail = body.contains("detail") && body["detail"].is_string() ? body["detail"].get<std::string>() : "";
      return Error(ralink::CodeFromSlug(slug), "CA: " + detail);
    }
    return Error(ErrorCode::kUnavailable, "CA answered HTTP " + std::to_string(resp.status));
  }
  if (body.is_discarded() || !body.is_object()) {
    return Error(ErrorCode::kMalformedInput, "the CA's answer is not a JSON object");
  }
  return body;
}

Result<ca::IssuedCertificate> RemoteCaGateway::Issue(const std::string& request_id, const ca::IssueRequest& request) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("issue", request_id, ralink::IssueRequestToJson(request)));
  if (!body.contains("result")) return Error(ErrorCode::kMalformedInput, "the CA's answer has no result");
  return IssuedFrom(body["result"]);
}

std::vector<Result<ca::IssuedCertificate>> RemoteCaGateway::IssueMany(const std::vector<GatewayIssue>& items) {
  std::vector<Result<ca::IssuedCertificate>> out;
  out.reserve(items.size());
  for (std::size_t start = 0; start < items.size(); start += config_.chunk) {
    std::size_t end = std::min(items.size(), start + config_.chunk);
    json arr = json::array();
    std::vector<std::size_t> sent;  // indexes of items that went out
    std::vector<std::optional<Error>> local(end - start);
    for (std::size_t i = start; i < end; ++i) {
      if (auto st = ValidateRequestId(items[i].request_id); !st.ok()) {
        local[i - start] = st.error();
        continue;
      }
      arr.push_back(json{{"request_id", items[i].request_id}, {"request", ralink::IssueRequestToJson(items[i].request)}});
      sent.push_back(i);
    }
    // The envelope's own request ID is derived from its items, so a resubmitted chunk is the
    // same request to the CA.
    std::string first = sent.empty() ? "empty" : items[sent.front()].request_id;
    std::string envelope_id = "many:" + first + ":" + std::to_string(sent.size());
    if (envelope_id.size() > 128) envelope_id = envelope_id.substr(0, 128);
    Result<json> body = sent.empty() ? Result<json>(json{{"results", json::array()}})
                                     : Call("issue-many", envelope_id, json{{"items", std::move(arr)}});
    std::size_t k = 0;
    for (std::size_t i = start; i < end; ++i) {
      if (local[i - start]) {
        out.emplace_back(*local[i - start]);
        continue;
      }
      if (!body.ok()) {
        out.emplace_back(body.error());
        continue;
      }
      const json& results = (*body)["results"];
      if (!results.is_array() || k >= results.size()) {
        out.emplace_back(Error(ErrorCode::kMalformedInput, "the CA answered fewer results than items"));
        continue;
      }
      const json& r = results[k++];
      if (r.contains("certificate")) {
        out.push_back(IssuedFrom(r["certificate"]));
      } else {
        out.emplace_back(ralink::ErrorFromJson(r.contains("error") ? r["error"] : json()));
      }
    }
  }
  return out;
}

Result<ca::IssuedCertificate> RemoteCaGateway::Renew(const std::string& request_id, const std::string& ca,
                                                     const std::string& serial_hex, std::optional<int> validity_days) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  json args{{"ca", ca}, {"serial", serial_hex}};
  if (validity_days) args["validity_days"] = *validity_days;
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("renew", request_id, std::move(args)));
  if (!body.contains("result")) return Error(ErrorCode::kMalformedInput, "the CA's answer has no result");
  return IssuedFrom(body["result"]);
}

Status RemoteCaGateway::Revoke(const std::string& request_id, const std::string& ca, const std::string& serial_hex,
                               x509::RevocationReason reason) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("revoke", request_id,
                                         json{{"ca", ca}, {"serial", serial_hex}, {"reason", static_cast<int>(reason)}}));
  (void)body;
  return OkStatus();
}

Result<ca::DualIssued> RemoteCaGateway::IssueEncryption(const std::string& request_id,
                                                        const ca::EncryptionIssueRequest& request) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("issue-enc", request_id,
                                         ralink::EncryptionIssueRequestToJson(request)));
  if (!body.contains("result")) return Error(ErrorCode::kMalformedInput, "the CA's answer has no result");
  return ralink::DualIssuedFromJson(body["result"]);
}

Result<ca::KmKeyDelivery> RemoteCaGateway::RecoverEncryptionKey(const std::string& request_id,
                                                                const std::string& ca,
                                                                const std::string& enc_serial,
                                                                const std::string& sign_serial) {
  GMPKI_RETURN_IF_ERROR(ValidateRequestId(request_id));
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("recover-enc-key", request_id,
                                         json{{"ca", ca}, {"enc_serial", enc_serial},
                                              {"sign_serial", sign_serial}}));
  if (!body.contains("result")) return Error(ErrorCode::kMalformedInput, "the CA's answer has no result");
  return ralink::KmKeyDeliveryFromJson(body["result"]);
}

Result<ca::CertRecord> RemoteCaGateway::GetCertificate(const std::string& ca, const std::string& serial_hex) {
  GMPKI_ASSIGN_OR_RETURN(auto rnd, crypto::RandomBytes(8));
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("get-cert", "read-" + HexEncode(rnd), json{{"ca", ca}, {"serial", serial_hex}}));
  if (!body.contains("result")) return Error(ErrorCode::kMalformedInput, "the CA's answer has no result");
  return ralink::CertRecordFromJson(body["result"]);
}

Result<std::vector<Bytes>> RemoteCaGateway::CaChain(const std::string& ca) {
  GMPKI_ASSIGN_OR_RETURN(auto rnd, crypto::RandomBytes(8));
  GMPKI_ASSIGN_OR_RETURN(auto body, Call("ca-chain", "read-" + HexEncode(rnd), json{{"ca", ca}}));
  if (!body.contains("result") || !body["result"].is_array()) {
    return Error(ErrorCode::kMalformedInput, "the CA's answer has no chain");
  }
  std::vector<Bytes> out;
  for (const auto& c : body["result"]) {
    if (!c.is_string()) return Error(ErrorCode::kMalformedInput, "chain entries must be base64 strings");
    GMPKI_ASSIGN_OR_RETURN(auto der, Base64Decode(c.get<std::string>()));
    out.push_back(std::move(der));
  }
  return out;
}

}  // namespace gmpki::ra
