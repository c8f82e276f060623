#include "services/tsa/tsa_routes.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "services/core/operator_api.h"
#include "x509/ocsp.h"

namespace gmpki::tsa {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;
using nlohmann::json;

Error BadField(const std::string& message) {
  return Error(ErrorCode::kInvalidArgument, message);
}

Result<std::optional<std::string>> StringField(const json& b, const char* key) {
  if (!b.contains(key) || b[key].is_null()) return std::optional<std::string>();
  if (!b[key].is_string()) return BadField(std::string("field '") + key + "' must be a string");
  return std::optional<std::string>(b[key].get<std::string>());
}

Result<std::string> HashOid(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  if (name == "sm3") return std::string(x509::oid::kSm3);
  if (name == "sha256") return std::string(x509::oid::kSha256);
  if (name == "sha1") return std::string(x509::oid::kSha1);
  if (x509::TspHashLength(name)) return name;
  return BadField("hash_alg must be sm3, sha256, sha1 or one of their OIDs");
}

std::string HashName(const std::string& oid) {
  if (oid == x509::oid::kSm3) return "sm3";
  if (oid == x509::oid::kSha256) return "sha256";
  if (oid == x509::oid::kSha1) return "sha1";
  return oid;
}

Result<TsaVerifyRequest> ParseVerifyBody(const json& b) {
  TsaVerifyRequest r;
  GMPKI_ASSIGN_OR_RETURN(auto token, StringField(b, "token"));
  if (!token || token->empty()) return BadField("field 'token' (base64 DER) is required");
  auto der = Base64Decode(*token);
  if (!der) return BadField("field 'token' is not base64");
  r.token = std::move(*der);
  GMPKI_ASSIGN_OR_RETURN(auto data, StringField(b, "data"));
  GMPKI_ASSIGN_OR_RETURN(auto hash, StringField(b, "hash"));
  GMPKI_ASSIGN_OR_RETURN(auto alg, StringField(b, "hash_alg"));
  GMPKI_ASSIGN_OR_RETURN(auto nonce, StringField(b, "nonce"));
  if (data.has_value() == hash.has_value()) {
    return BadField("give exactly one of 'data' (base64) and 'hash' (hex, with 'hash_alg')");
  }
  if (data) {
    auto d = Base64Decode(*data);
    if (!d) return BadField("field 'data' is not base64");
    r.data = std::move(*d);
  } else {
    auto h = HexDecode(*hash);
    if (!h) return BadField("field 'hash' is not hex");
    r.hash = std::move(*h);
    GMPKI_ASSIGN_OR_RETURN(r.hash_oid, HashOid(alg.value_or("sm3")));
  }
  if (nonce) {
    auto n = HexDecode(*nonce);
    if (!n || n->empty()) return BadField("field 'nonce' is not hex");
    r.nonce = std::move(*n);
  }
  return r;
}

json VerdictJson(const TsaVerdict& v) {
  json j{{"valid", v.valid}, {"reasons", v.reasons}};
  if (v.info) {
    const x509::TstInfo& i = *v.info;
    j["serial"] = HexEncode(i.serial, true);
    j["gen_time"] = i.gen_time_text;
    j["gen_time_unix_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(i.gen_time.time_since_epoch())
            .count();
    j["policy"] = i.policy;
    j["hash_alg"] = HashName(i.hash_oid);
    j["hash"] = HexEncode(i.hashed_message);
    if (i.nonce) j["nonce"] = HexEncode(*i.nonce);
    if (i.accuracy) j["accuracy_us"] = i.accuracy->ToDuration().count();
  }
  return j;
}

bool IsQueryType(const std::string& content_type) {
  std::string base = content_type.substr(0, content_type.find(';'));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  std::transform(base.begin(), base.end(), base.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return base == kTimestampQueryType;
}

}  // namespace

Status AddTsaRoutes(net::Router& router, TsaService& tsa) {
  GMPKI_RETURN_IF_ERROR(router.Add(
      "POST", "/tsa", [&tsa](const HttpRequest& r, const PathParams&) -> HttpResponse {
        // RFC 3161 section 3.4: the query travels as application/timestamp-query.
        if (!IsQueryType(r.Header("Content-Type"))) {
          return net::ProblemResponse(415, "unsupported-media-type", "Unsupported Media Type",
                                      "send the DER TimeStampReq as " +
                                          std::string(kTimestampQueryType),
                                      r.path);
        }
        StampOutcome out = tsa.Stamp(AsBytes(r.body));
        // A refusal is still a TimeStampResp (status rejection) with 200, as RFC 3161 clients
        // expect to read the PKIStatusInfo.
        return net::TextResponse(200, ToString(out.response), kTimestampReplyType);
      }));
  return router.Add(
      "POST", "/api/v1/tsa/verify", [&tsa](const HttpRequest& r, const PathParams&) {
        auto body = services::JsonObjectBody(r);
        if (!body.ok()) return net::ProblemResponse(body.error(), r.path);
        auto req = ParseVerifyBody(*body);
        if (!req.ok()) return net::ProblemResponse(req.error(), r.path);
        auto verdict = tsa.Verify(*req);
        if (!verdict.ok()) return net::ProblemResponse(verdict.error(), r.path);
        return net::JsonResponse(200, VerdictJson(*verdict));
      });
}

}  // namespace gmpki::tsa
