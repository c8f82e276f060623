// The RA-to-CA protocol (LD/T 02.1 §7.3.2 "证书注册管理系统"; CA-01, CC-FTP): a registration
// system (RA) on another node asks its CA to issue, renew and revoke over mutually
// authenticated TLS, and signs every request with its own SM2 key (GM/T 0009 rule, default ID)
// so that the CA keeps each request as evidence of who asked for what.
//
// One POST to kRaLinkPath per request. Body: {"payload": base64(P), "signature": base64(S)}
// where P is the request JSON exactly as signed and S the DER SM2 signature over P with the RA's
// signing key. P = {"v": 1, "ra": name, "request_id": id, "created_ms": unix-ms, "op": op,
// "args": {...}} with op one of issue, issue-many, renew, revoke, get-cert, ca-chain, issue-enc
// (dual certificates: the encryption certificate for a signing certificate, with the KM's key
// envelopes) and recover-enc-key (the key of an encryption certificate re-delivered to a new
// signing certificate of the same subject).
// Answers: 200 JSON {"result": ...} (issue-many: {"results": [{"certificate": ...} |
// {"error": {"code": N, "message": "..."}}]}; issue-enc: {"result": {"certificate": ...,
// "delivery": ...}}; recover-enc-key: {"result": delivery}), or an RFC 9457 problem (the error's
// "type" slug names the ErrorCode).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/result.h"
#include "services/ca/ca_service.h"

namespace gmpki::ca::ralink {

inline constexpr std::string_view kRaLinkPath = "/api/v1/ra-link/requests";
// A request older or newer than this against the CA's clock is refused as expired.
inline constexpr std::int64_t kMaxSkewMs = 300'000;
// Items in one issue-many request.
inline constexpr std::size_t kMaxItemsPerRequest = 1000;

struct Envelope {
  std::string payload;  // the signed bytes (JSON text)
  Bytes signature;      // DER SM2Signature
};
std::string EncodeEnvelope(const Envelope& e);
Result<Envelope> DecodeEnvelope(std::string_view body);

nlohmann::json IssueRequestToJson(const IssueRequest& r);
Result<IssueRequest> IssueRequestFromJson(const nlohmann::json& j);
nlohmann::json CertRecordToJson(const CertRecord& r);
Result<CertRecord> CertRecordFromJson(const nlohmann::json& j);
// Dual certificates. The request key is not sent: the CA derives it from the RA and request ID.
nlohmann::json EncryptionIssueRequestToJson(const EncryptionIssueRequest& r);
Result<EncryptionIssueRequest> EncryptionIssueRequestFromJson(const nlohmann::json& j);
// The key envelopes travel as base64 and the encryption public key as its uncompressed point
// (hex): they are encrypted to the subscriber's signing key, so the link carries no secret.
nlohmann::json KmKeyDeliveryToJson(const KmKeyDelivery& d);
Result<KmKeyDelivery> KmKeyDeliveryFromJson(const nlohmann::json& j);
nlohmann::json DualIssuedToJson(const DualIssued& d);
Result<DualIssued> DualIssuedFromJson(const nlohmann::json& j);
nlohmann::json ErrorToJson(const Error& e);
Error ErrorFromJson(const nlohmann::json& j);
// The ErrorCode whose catalogue slug is `slug` (problem+json "type" suffix); kInternal if none.
ErrorCode CodeFromSlug(std::string_view slug);

}  // namespace gmpki::ca::ralink
