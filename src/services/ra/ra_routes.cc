#include "services/ra/ra_routes.h"

#include <nlohmann/json.hpp>

#include "services/core/operator_api.h"
#include "x509/pem.h"

namespace gmpki::ra {
namespace {

using nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;

Result<json> Body(const HttpRequest& r) { return services::JsonObjectBody(r); }


using services::OnlyFields;
template <class T>
Result<std::optional<T>> Opt(const json& j, const char* key) {
  return services::OptionalField<T>(j, key);
}

Result<std::string> Str(const json& j, const char* key) {
  GMPKI_ASSIGN_OR_RETURN(auto v, Opt<std::string>(j, key));
  return v.value_or("");
}

Result<std::string> Required(const json& j, const char* key) {
  GMPKI_ASSIGN_OR_RETURN(auto v, Opt<std::string>(j, key));
  if (!v || v->empty()) {
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' is required");
  }
  return *v;
}

std::optional<std::string> QueryParam(const HttpRequest& r, const char* k) {
  auto it = r.query.find(k);
  if (it == r.query.end()) return std::nullopt;
  return it->second;
}

Status LimitOffset(const HttpRequest& r, int* limit, int* offset) {
  try {
    if (auto l = QueryParam(r, "limit")) *limit = std::stoi(*l);
    if (auto o = QueryParam(r, "offset")) *offset = std::stoi(*o);
  } catch (const std::exception&) {
    return Error(ErrorCode::kInvalidArgument, "limit and offset must be integers");
  }
  return OkStatus();
}

json PointJson(const PointRecord& p) {
  return {{"name", p.name},         {"ra", p.ra},
          {"description", p.description}, {"location", p.location},
          {"status", p.status},     {"operators", p.operators},
          {"created", p.created_unix}};
}

json SubscriberJson(const SubscriberView& s) {
  json j{{"id", s.id},         {"kind", s.kind},         {"name", s.name},
         {"status", s.status}, {"point", s.point},       {"entered_by", s.entered_by},
         {"modified_by", s.modified_by}, {"reviewed_by", s.reviewed_by},
         {"review_reason", s.review_reason}, {"revealed", s.revealed},
         {"created", s.created_unix}, {"updated", s.updated_unix}};
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("id_kind", s.id_kind);
  put("id_number", s.id_number);
  put("social_security", s.social_security);
  put("phone", s.phone);
  put("address", s.address);
  put("email", s.email);
  put("uscc", s.uscc);
  put("legal_representative", s.legal_representative);
  put("device_serial", s.device_serial);
  put("owner", s.owner);
  return j;
}

json RequestJson(const RequestView& r) {
  json j{{"id", r.id},           {"kind", r.kind},       {"subscriber", r.subscriber},
         {"status", r.status},   {"ca", r.ca},           {"profile", r.profile},
         {"point", r.point},     {"requested_by", r.requested_by},
         {"reviewed_by", r.reviewed_by}, {"review_reason", r.review_reason},
         {"created", r.created_unix}, {"updated", r.updated_unix}};
  if (r.validity_days) j["validity_days"] = *r.validity_days;
  if (!r.source_request.empty()) j["source_request"] = r.source_request;
  if (!r.sign_request.empty()) j["sign_request"] = r.sign_request;
  if (r.reason) j["reason"] = std::string(x509::RevocationReasonName(*r.reason));
  if (!r.last_error.empty()) j["last_error"] = r.last_error;
  if (!r.serial_hex.empty()) j["serial"] = r.serial_hex;
  if (r.not_after) j["not_after"] = r.not_after;
  if (r.revoked_unix) j["revoked"] = *r.revoked_unix;
  return j;
}

Result<SubscriberInput> ParseSubscriber(const json& b) {
  GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"kind", "name", "id_kind", "id_number", "social_security",
                                       "phone", "address", "email", "uscc",
                                       "legal_representative", "device_serial", "owner"}));
  SubscriberInput in;
  GMPKI_ASSIGN_OR_RETURN(in.kind, Required(b, "kind"));
  GMPKI_ASSIGN_OR_RETURN(in.name, Str(b, "name"));
  GMPKI_ASSIGN_OR_RETURN(in.id_kind, Str(b, "id_kind"));
  GMPKI_ASSIGN_OR_RETURN(in.id_number, Str(b, "id_number"));
  GMPKI_ASSIGN_OR_RETURN(in.social_security, Str(b, "social_security"));
  GMPKI_ASSIGN_OR_RETURN(in.phone, Str(b, "phone"));
  GMPKI_ASSIGN_OR_RETURN(in.address, Str(b, "address"));
  GMPKI_ASSIGN_OR_RETURN(in.email, Str(b, "email"));
  GMPKI_ASSIGN_OR_RETURN(in.uscc, Str(b, "uscc"));
  GMPKI_ASSIGN_OR_RETURN(in.legal_representative, Str(b, "legal_representative"));
  GMPKI_ASSIGN_OR_RETURN(in.device_serial, Str(b, "device_serial"));
  GMPKI_ASSIGN_OR_RETURN(in.owner, Str(b, "owner"));
  return in;
}

Result<Review> ParseReview(const json& b) {
  GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"approve", "reason"}));
  GMPKI_ASSIGN_OR_RETURN(auto approve, Opt<bool>(b, "approve"));
  if (!approve) return Error(ErrorCode::kInvalidArgument, "field 'approve' (boolean) is required");
  Review r;
  r.approve = *approve;
  GMPKI_ASSIGN_OR_RETURN(r.reason, Str(b, "reason"));
  return r;
}

// Authentication (CC-FIA), as the CA routes: the operator behind the verified client certificate.
using Op = services::OperatorOp;
net::Handler Api(const RaApiDeps& d, Op op) { return services::OperatorHandler(*d.operators, std::move(op)); }

}  // namespace

Status AddRaApiRoutes(net::Router& router, const RaApiDeps& d) {
  if (d.ra == nullptr || d.operators == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "AddRaApiRoutes needs the RA service and operators");
  }
  RaService& ra = *d.ra;
  auto add = [&](const char* method, const std::string& path, Op op) {
    return router.Add(method, "/api/v1/ra" + path, Api(d, std::move(op)));
  };

  // --- registration points (system administrator) ---
  GMPKI_RETURN_IF_ERROR(add("POST", "/points", [&ra](auto& a, auto& r, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"name", "description", "location"}));
    GMPKI_ASSIGN_OR_RETURN(auto name, Required(b, "name"));
    GMPKI_ASSIGN_OR_RETURN(auto desc, Str(b, "description"));
    GMPKI_ASSIGN_OR_RETURN(auto loc, Str(b, "location"));
    GMPKI_ASSIGN_OR_RETURN(auto p, ra.CreatePoint(a, name, desc, loc));
    return net::JsonResponse(201, PointJson(p));
  }));
  GMPKI_RETURN_IF_ERROR(add("GET", "/points", [&ra](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto list, ra.ListPoints(a));
    json arr = json::array();
    for (const auto& p : list) arr.push_back(PointJson(p));
    return net::JsonResponse(200, arr);
  }));
  for (bool active : {false, true}) {
    GMPKI_RETURN_IF_ERROR(add("POST", std::string("/points/{point}/") + (active ? "resume" : "suspend"),
                              [&ra, active](auto& a, auto&, auto& p) -> Result<HttpResponse> {
      GMPKI_ASSIGN_OR_RETURN(auto rec, ra.SetPointActive(a, p.at("point"), active));
      return net::JsonResponse(200, PointJson(rec));
    }));
  }
  GMPKI_RETURN_IF_ERROR(add("PUT", "/operators/{operator}", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"point"}));
    GMPKI_ASSIGN_OR_RETURN(auto point, Required(b, "point"));
    GMPKI_RETURN_IF_ERROR(ra.BindOperator(a, p.at("operator"), point));
    return net::JsonResponse(200, json{{"operator", p.at("operator")}, {"point", point}});
  }));
  GMPKI_RETURN_IF_ERROR(add("DELETE", "/operators/{operator}", [&ra](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(ra.UnbindOperator(a, p.at("operator")));
    return net::JsonResponse(200, json{{"operator", p.at("operator")}, {"point", nullptr}});
  }));

  // --- subscribers ---
  GMPKI_RETURN_IF_ERROR(add("POST", "/subscribers", [&ra](auto& a, auto& r, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_ASSIGN_OR_RETURN(auto in, ParseSubscriber(b));
    GMPKI_ASSIGN_OR_RETURN(auto s, ra.EnterSubscriber(a, in));
    return net::JsonResponse(201, SubscriberJson(s));
  }));
  // Listing by non-personal criteria; searches by a personal number go in a POST body so the
  // number never appears in a URL.
  GMPKI_RETURN_IF_ERROR(add("GET", "/subscribers", [&ra](auto& a, auto& r, auto&) -> Result<HttpResponse> {
    SubscriberQuery q;
    q.kind = QueryParam(r, "kind");
    q.status = QueryParam(r, "status");
    q.name_prefix = QueryParam(r, "name_prefix");
    GMPKI_RETURN_IF_ERROR(LimitOffset(r, &q.limit, &q.offset));
    GMPKI_ASSIGN_OR_RETURN(auto list, ra.ListSubscribers(a, q));
    json arr = json::array();
    for (const auto& s : list) arr.push_back(SubscriberJson(s));
    return net::JsonResponse(200, arr);
  }));
  GMPKI_RETURN_IF_ERROR(add("POST", "/subscribers/search", [&ra](auto& a, auto& r, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"kind", "status", "name_prefix", "id_kind", "id_number",
                                         "social_security", "uscc", "limit", "offset"}));
    SubscriberQuery q;
    GMPKI_ASSIGN_OR_RETURN(q.kind, Opt<std::string>(b, "kind"));
    GMPKI_ASSIGN_OR_RETURN(q.status, Opt<std::string>(b, "status"));
    GMPKI_ASSIGN_OR_RETURN(q.name_prefix, Opt<std::string>(b, "name_prefix"));
    GMPKI_ASSIGN_OR_RETURN(q.id_kind, Opt<std::string>(b, "id_kind"));
    GMPKI_ASSIGN_OR_RETURN(q.id_number, Opt<std::string>(b, "id_number"));
    GMPKI_ASSIGN_OR_RETURN(q.social_security, Opt<std::string>(b, "social_security"));
    GMPKI_ASSIGN_OR_RETURN(q.uscc, Opt<std::string>(b, "uscc"));
    GMPKI_ASSIGN_OR_RETURN(auto limit, Opt<int>(b, "limit"));
    GMPKI_ASSIGN_OR_RETURN(auto offset, Opt<int>(b, "offset"));
    if (limit) q.limit = *limit;
    if (offset) q.offset = *offset;
    GMPKI_ASSIGN_OR_RETURN(auto list, ra.ListSubscribers(a, q));
    json arr = json::array();
    for (const auto& s : list) arr.push_back(SubscriberJson(s));
    return net::JsonResponse(200, arr);
  }));
  GMPKI_RETURN_IF_ERROR(add("GET", "/subscribers/{id}", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    auto reveal = QueryParam(r, "reveal");
    if (reveal && *reveal != "true" && *reveal != "false") {
      return Error(ErrorCode::kInvalidArgument, "reveal must be true or false");
    }
    GMPKI_ASSIGN_OR_RETURN(auto s, ra.GetSubscriber(a, p.at("id"), reveal && *reveal == "true"));
    return net::JsonResponse(200, SubscriberJson(s));
  }));
  GMPKI_RETURN_IF_ERROR(add("PUT", "/subscribers/{id}", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_ASSIGN_OR_RETURN(auto in, ParseSubscriber(b));
    GMPKI_ASSIGN_OR_RETURN(auto s, ra.ModifySubscriber(a, p.at("id"), in));
    return net::JsonResponse(200, SubscriberJson(s));
  }));
  GMPKI_RETURN_IF_ERROR(add("POST", "/subscribers/{id}/review", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_ASSIGN_OR_RETURN(auto review, ParseReview(b));
    GMPKI_ASSIGN_OR_RETURN(auto s, ra.ReviewSubscriber(a, p.at("id"), review));
    return net::JsonResponse(200, SubscriberJson(s));
  }));

  // --- certificate requests ---
  GMPKI_RETURN_IF_ERROR(add("POST", "/requests", [&ra](auto& a, auto& r, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(
        OnlyFields(b, {"subscriber", "ca", "profile", "csr", "sign_serial", "validity_days"}));
    CertRequestInput in;
    GMPKI_ASSIGN_OR_RETURN(in.subscriber, Required(b, "subscriber"));
    GMPKI_ASSIGN_OR_RETURN(in.ca, Required(b, "ca"));
    GMPKI_ASSIGN_OR_RETURN(in.profile, Required(b, "profile"));
    // Signing profiles need a CSR; encryption profiles name the signing certificate instead
    // (the KM generates the key). The service says which is missing.
    GMPKI_ASSIGN_OR_RETURN(in.sign_serial, Str(b, "sign_serial"));
    GMPKI_ASSIGN_OR_RETURN(auto csr, Str(b, "csr"));
    if (in.sign_serial.empty() && csr.empty()) {
      return Error(ErrorCode::kInvalidArgument, "field 'csr' is required (or 'sign_serial' for an "
                                                "encryption profile)");
    }
    in.csr = ToBytes(csr);
    GMPKI_ASSIGN_OR_RETURN(in.validity_days, Opt<int>(b, "validity_days"));
    GMPKI_ASSIGN_OR_RETURN(auto req, ra.RequestCertificate(a, in));
    return net::JsonResponse(201, RequestJson(req));
  }));
  GMPKI_RETURN_IF_ERROR(add("GET", "/requests", [&ra](auto& a, auto& r, auto&) -> Result<HttpResponse> {
    RequestQuery q;
    q.subscriber = QueryParam(r, "subscriber");
    q.kind = QueryParam(r, "kind");
    q.status = QueryParam(r, "status");
    GMPKI_RETURN_IF_ERROR(LimitOffset(r, &q.limit, &q.offset));
    GMPKI_ASSIGN_OR_RETURN(auto list, ra.ListRequests(a, q));
    json arr = json::array();
    for (const auto& x : list) arr.push_back(RequestJson(x));
    return net::JsonResponse(200, arr);
  }));
  GMPKI_RETURN_IF_ERROR(add("GET", "/requests/{id}", [&ra](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto req, ra.GetRequest(a, p.at("id")));
    return net::JsonResponse(200, RequestJson(req));
  }));
  GMPKI_RETURN_IF_ERROR(add("POST", "/requests/{id}/review", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_ASSIGN_OR_RETURN(auto review, ParseReview(b));
    GMPKI_ASSIGN_OR_RETURN(auto req, ra.ReviewRequest(a, p.at("id"), review));
    return net::JsonResponse(200, RequestJson(req));
  }));
  GMPKI_RETURN_IF_ERROR(add("POST", "/requests/{id}/revoke", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"reason"}));
    GMPKI_ASSIGN_OR_RETURN(auto name, Opt<std::string>(b, "reason"));
    GMPKI_ASSIGN_OR_RETURN(auto reason, x509::ParseRevocationReason(name.value_or("unspecified")));
    GMPKI_ASSIGN_OR_RETURN(auto req, ra.RequestRevocation(a, p.at("id"), reason));
    return net::JsonResponse(201, RequestJson(req));
  }));
  GMPKI_RETURN_IF_ERROR(add("POST", "/requests/{id}/renew", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"validity_days"}));
    GMPKI_ASSIGN_OR_RETURN(auto days, Opt<int>(b, "validity_days"));
    GMPKI_ASSIGN_OR_RETURN(auto req, ra.RequestRenewal(a, p.at("id"), days));
    return net::JsonResponse(201, RequestJson(req));
  }));
  // Subscriber key recovery (KM-06): {id} is the encryption certificate's request.
  GMPKI_RETURN_IF_ERROR(add("POST", "/requests/{id}/recover-key", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto b, Body(r));
    GMPKI_RETURN_IF_ERROR(OnlyFields(b, {"sign_serial"}));
    GMPKI_ASSIGN_OR_RETURN(auto sign_serial, Required(b, "sign_serial"));
    GMPKI_ASSIGN_OR_RETURN(auto req, ra.RequestKeyRecovery(a, p.at("id"), sign_serial));
    return net::JsonResponse(201, RequestJson(req));
  }));
  GMPKI_RETURN_IF_ERROR(add("GET", "/requests/{id}/certificate", [&ra](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    std::string fmt = QueryParam(r, "format").value_or("pem");
    if (fmt == "json") {
      // Dual certificates: both certificates and the key envelopes (opened only with the
      // signing private key).
      GMPKI_ASSIGN_OR_RETURN(auto k, ra.DownloadKeys(a, p.at("id")));
      return net::JsonResponse(
          200, json{{"request", k.request},
                    {"sign_serial", k.sign_serial},
                    {"enc_serial", k.enc_serial},
                    {"sign_certificate", x509::PemEncode(x509::kPemCertificate, k.sign_certificate)},
                    {"enc_certificate", x509::PemEncode(x509::kPemCertificate, k.enc_certificate)},
                    {"key_id", k.key_id},
                    {"skf_enveloped_key_blob", Base64Encode(k.skf_blob)},
                    {"sm2_enveloped_key", Base64Encode(k.sm2_enveloped_key)},
                    {"enveloped_data", Base64Encode(k.enveloped_data)}});
    }
    CertFormat f;
    std::string type;
    if (fmt == "pem") { f = CertFormat::kPem; type = "application/pem-certificate-chain"; }
    else if (fmt == "der") { f = CertFormat::kDer; type = "application/pkix-cert"; }
    else if (fmt == "p7b") { f = CertFormat::kPkcs7; type = "application/pkcs7-mime"; }
    else return Error(ErrorCode::kInvalidArgument, "format must be pem, der, p7b or json");
    GMPKI_ASSIGN_OR_RETURN(auto bytes, ra.Download(a, p.at("id"), f));
    return net::TextResponse(200, ToString(bytes), type);
  }));
  return OkStatus();
}

}  // namespace gmpki::ra
