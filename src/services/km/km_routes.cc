#include "services/km/km_routes.h"

#include "services/core/operator_api.h"
#include "x509/pem.h"

namespace gmpki::km {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;
using nlohmann::json;

Result<std::string> RequiredString(const json& b, const char* key) {
  if (!b.contains(key) || !b[key].is_string() || b[key].get<std::string>().empty()) {
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' (a string) is required");
  }
  return b[key].get<std::string>();
}

json CaJson(const KmCa& c) {
  return json{{"name", c.name},         {"tls_fingerprint", c.tls_fingerprint}, {"status", c.status},
              {"registered_by", c.registered_by}, {"created", c.created_unix}, {"updated", c.updated_unix}};
}

json RecoveryJson(const Recovery& r) {
  return json{{"id", r.id},
              {"key_id", r.key_id},
              {"requested_by", r.requested_by},
              {"approved_by", r.approved_by},
              {"authority", r.authority},
              {"authority_fingerprint", r.authority_fingerprint},
              {"case_ref", r.case_ref},
              {"reason", r.reason},
              {"status", r.status},
              {"created", r.created_unix},
              {"expires", r.expires_unix},
              {"approved", r.approved_unix}};
}

using CaOp = std::function<Result<HttpResponse>(const KmCa&, const json&, const PathParams&)>;

// CA-facing routes: the registered CA behind the TLS client certificate, then the JSON body.
net::Handler FromCa(KmService& km, CaOp op) {
  return [&km, op](const HttpRequest& r, const PathParams& p) -> HttpResponse {
    if (!r.peer) {
      return net::ProblemResponse(
          Error(ErrorCode::kUnauthenticated, "CAs reach the KM with their registered TLS client certificate"),
          r.path);
    }
    auto ca = km.AuthenticateCa(r.peer->sm3_fingerprint);
    if (!ca.ok()) return net::ProblemResponse(ca.error(), r.path);
    auto body = services::JsonObjectBody(r);
    if (!body.ok()) return net::ProblemResponse(body.error(), r.path);
    auto res = op(*ca, *body, p);
    if (!res.ok()) return net::ProblemResponse(res.error(), r.path);
    return *res;
  };
}

// The operators' routes: the operator, then the JSON body, then the operation.
net::Handler Managed(services::OperatorRegistry& operators, services::JsonOperatorOp op) {
  return services::JsonOperatorHandler(operators, std::move(op));
}

}  // namespace

json KeyJson(const KeyRecord& k) {
  return json{{"key_id", k.key_id},
              {"ca", k.ca},
              {"request_id", k.request_id},
              {"subject", k.subject},
              {"enc_public_key", x509::PemEncode("PUBLIC KEY", k.enc_public_key.ToSpkiDer())},
              {"status", k.status},
              {"cert_serial", k.cert_serial},
              {"not_after", k.not_after_unix},
              {"created", k.created_unix},
              {"revoked", k.revoked_unix},
              {"revoke_reason", k.revoke_reason},
              {"previous_key_id", k.previous_key_id},
              {"archived", k.archived},
              {"retain_until", k.retain_until_unix}};
}

json DeliveryJson(const KeyDelivery& d) {
  json j = KeyJson(d.key);
  j["skf_enveloped_key_blob"] = Base64Encode(d.skf_blob);
  j["sm2_enveloped_key"] = Base64Encode(d.sm2_enveloped_key);
  j["enveloped_data"] = Base64Encode(d.enveloped_data);
  return j;
}

Status AddKmRoutes(net::Router& router, KmService& km, services::OperatorRegistry& operators) {
  // ---- the CAs' routes
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/ca/keys", FromCa(km, [&km](const KmCa& ca, const json& b, const PathParams&) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {"request_id", "sign_certificate", "not_after", "previous_key_id"}));
    ApplyKeyRequest req;
    GMPKI_ASSIGN_OR_RETURN(req.request_id, RequiredString(b, "request_id"));
    GMPKI_ASSIGN_OR_RETURN(auto cert, RequiredString(b, "sign_certificate"));
    req.sign_certificate = ToBytes(cert);
    GMPKI_ASSIGN_OR_RETURN(auto na, services::OptionalField<std::int64_t>(b, "not_after"));
    if (!na) return Error(ErrorCode::kInvalidArgument, "field 'not_after' (Unix seconds) is required");
    req.not_after_unix = *na;
    GMPKI_ASSIGN_OR_RETURN(auto prev, services::OptionalField<std::string>(b, "previous_key_id"));
    if (prev) req.previous_key_id = *prev;
    GMPKI_ASSIGN_OR_RETURN(auto d, km.ApplyKey(ca, req));
    return net::JsonResponse(200, DeliveryJson(d));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/ca/keys/{key_id}/bind", FromCa(km, [&km](const KmCa& ca, const json& b, const PathParams& p) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {"cert_serial"}));
    GMPKI_ASSIGN_OR_RETURN(auto serial, RequiredString(b, "cert_serial"));
    GMPKI_RETURN_IF_ERROR(km.BindCertificate(ca, p.at("key_id"), serial));
    return net::JsonResponse(200, json{{"key_id", p.at("key_id")}, {"cert_serial", serial}, {"status", "active"}});
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/ca/certificates/{serial}/revoke", FromCa(km, [&km](const KmCa& ca, const json& b, const PathParams& p) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {"reason"}));
    GMPKI_ASSIGN_OR_RETURN(auto reason, RequiredString(b, "reason"));
    GMPKI_RETURN_IF_ERROR(km.RevokeKey(ca, p.at("serial"), reason));
    return net::JsonResponse(200, json{{"cert_serial", p.at("serial")}, {"status", "revoked"}});
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/ca/certificates/{serial}/restore", FromCa(km, [&km](const KmCa& ca, const json& b, const PathParams& p) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {"request_id", "sign_certificate"}));
    RestoreKeyRequest req;
    req.cert_serial = p.at("serial");
    GMPKI_ASSIGN_OR_RETURN(req.request_id, RequiredString(b, "request_id"));
    GMPKI_ASSIGN_OR_RETURN(auto cert, RequiredString(b, "sign_certificate"));
    req.sign_certificate = ToBytes(cert);
    GMPKI_ASSIGN_OR_RETURN(auto d, km.RestoreKey(ca, req));
    return net::JsonResponse(200, DeliveryJson(d));
  })));

  // ---- operators
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/km/cas", Managed(operators, [&km](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto list, km.ListCas(a));
    json arr = json::array();
    for (const auto& c : list) arr.push_back(CaJson(c));
    return net::JsonResponse(200, arr);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/cas", Managed(operators, [&km](auto& a, auto& b, auto&) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {"name", "tls_fingerprint"}));
    GMPKI_ASSIGN_OR_RETURN(auto name, RequiredString(b, "name"));
    GMPKI_ASSIGN_OR_RETURN(auto fp, RequiredString(b, "tls_fingerprint"));
    GMPKI_ASSIGN_OR_RETURN(auto c, km.RegisterCa(a, name, fp));
    return net::JsonResponse(201, CaJson(c));
  })));
  for (const char* action : {"suspend", "resume"}) {
    std::string act = action;
    GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/cas/{name}/" + act, Managed(operators, [&km, act](auto& a, auto&, auto& p) -> Result<HttpResponse> {
      GMPKI_RETURN_IF_ERROR(act == "suspend" ? km.SuspendCa(a, p.at("name")) : km.ResumeCa(a, p.at("name")));
      return net::JsonResponse(200, json{{"name", p.at("name")}, {"status", act == "suspend" ? "suspended" : "active"}});
    })));
  }
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/km/state", Managed(operators, [&km](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto s, km.State(a));
    return net::JsonResponse(200, json{{"pool_available", s.available}, {"escrowed", s.escrowed}, {"archived", s.archived}});
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/km/keys/{key_id}", Managed(operators, [&km](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto k, km.GetKey(a, p.at("key_id")));
    return net::JsonResponse(200, KeyJson(k));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/km/recoveries", Managed(operators, [&km](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto list, km.ListRecoveries(a));
    json arr = json::array();
    for (const auto& r : list) arr.push_back(RecoveryJson(r));
    return net::JsonResponse(200, arr);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/recoveries", Managed(operators, [&km](auto& a, auto& b, auto&) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {"key_id", "ca", "cert_serial", "authority_certificate", "case_ref", "reason"}));
    JudicialRecoveryRequest req;
    for (auto [key, out] : {std::pair<const char*, std::string*>{"key_id", &req.key_id}, {"ca", &req.ca}, {"cert_serial", &req.cert_serial}, {"case_ref", &req.case_ref}, {"reason", &req.reason}}) {
      GMPKI_ASSIGN_OR_RETURN(auto v, services::OptionalField<std::string>(b, key));
      if (v) *out = *v;
    }
    GMPKI_ASSIGN_OR_RETURN(auto cert, services::OptionalField<std::string>(b, "authority_certificate"));
    if (cert) req.authority_certificate = ToBytes(*cert);
    GMPKI_ASSIGN_OR_RETURN(auto r, km.RequestJudicialRecovery(a, req));
    return net::JsonResponse(201, RecoveryJson(r));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/km/recoveries/{id}", Managed(operators, [&km](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto r, km.GetRecovery(a, p.at("id")));
    return net::JsonResponse(200, RecoveryJson(r));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/km/recoveries/{id}/approve", Managed(operators, [&km](auto& a, auto& b, auto& p) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(b, {}));
    GMPKI_ASSIGN_OR_RETURN(auto r, km.ApproveJudicialRecovery(a, p.at("id")));
    return net::JsonResponse(200, RecoveryJson(r));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/km/recoveries/{id}/package", Managed(operators, [&km](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto package, km.FetchRecoveryPackage(a, p.at("id")));
    HttpResponse resp;
    resp.status = 200;
    resp.content_type = "application/octet-stream";
    resp.body.assign(package.begin(), package.end());
    return resp;
  })));
  return OkStatus();
}

}  // namespace gmpki::km
