#include "services/ca/ra_routes.h"

#include <nlohmann/json.hpp>

#include "services/ca/ra_protocol.h"
#include "services/core/operator_api.h"
#include "x509/pem.h"

namespace gmpki::ca {
namespace {

using nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;

json RaJson(const RaSystem& r) {
  return json{{"name", r.name},
              {"status", r.status},
              {"sign_ca", r.sign_ca},
              {"sign_serial", r.sign_serial},
              {"sign_certificate", x509::PemEncode(x509::kPemCertificate, r.sign_cert_der)},
              {"tls_fingerprint", r.tls_fingerprint},
              {"cas", r.cas},
              {"profiles", r.profiles},
              {"enrolled_by", r.enrolled_by},
              {"created", r.created_unix},
              {"updated", r.updated_unix}};
}

Result<std::vector<std::string>> StringList(const json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_array()) {
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' must be a list of names");
  }
  std::vector<std::string> out;
  for (const auto& v : body[key]) {
    if (!v.is_string()) return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' must hold strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The operators' routes: the operator, then the JSON body, then the operation.
net::Handler Managed(services::OperatorRegistry& operators, services::JsonOperatorOp op) {
  return services::JsonOperatorHandler(operators, std::move(op));
}

}  // namespace

Status AddRaLinkRoutes(net::Router& router, RaTrust& trust) {
  return router.Add("POST", ralink::kRaLinkPath, [&trust](const HttpRequest& r, const PathParams&) {
    if (!r.peer) {
      return net::ProblemResponse(
          Error(ErrorCode::kUnauthenticated, "registration systems connect with their TLS client certificate"),
          r.path);
    }
    auto res = trust.Handle(r.peer->sm3_fingerprint, r.body);
    if (!res.ok()) return net::ProblemResponse(res.error(), r.path);
    return net::JsonResponse(200, *res);
  });
}

Status AddRaManagementRoutes(net::Router& router, RaTrust& trust, services::OperatorRegistry& operators) {
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/ras", Managed(operators, [&trust](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto list, trust.List(a));
    json arr = json::array();
    for (const auto& r : list) arr.push_back(RaJson(r));
    return net::JsonResponse(200, arr);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/ras/{name}", Managed(operators, [&trust](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto r, trust.Get(a, p.at("name")));
    return net::JsonResponse(200, RaJson(r));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/ras", Managed(operators, [&trust](auto& a, auto& b, auto&) -> Result<HttpResponse> {
    RaEnrolment e;
    if (!b.contains("name") || !b["name"].is_string() || !b.contains("sign_certificate") ||
        !b["sign_certificate"].is_string() || !b.contains("tls_fingerprint") || !b["tls_fingerprint"].is_string()) {
      return Error(ErrorCode::kInvalidArgument, "fields name, sign_certificate (PEM) and tls_fingerprint are required");
    }
    e.name = b["name"].template get<std::string>();
    e.sign_cert = ToBytes(b["sign_certificate"].template get<std::string>());
    e.tls_fingerprint = b["tls_fingerprint"].template get<std::string>();
    GMPKI_ASSIGN_OR_RETURN(e.cas, StringList(b, "cas"));
    GMPKI_ASSIGN_OR_RETURN(e.profiles, StringList(b, "profiles"));
    GMPKI_ASSIGN_OR_RETURN(auto r, trust.Enrol(a, e));
    return net::JsonResponse(201, RaJson(r));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("PUT", "/api/v1/ras/{name}/authorisation", Managed(operators, [&trust](auto& a, auto& b, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto cas, StringList(b, "cas"));
    GMPKI_ASSIGN_OR_RETURN(auto profiles, StringList(b, "profiles"));
    GMPKI_ASSIGN_OR_RETURN(auto r, trust.Authorise(a, p.at("name"), cas, profiles));
    return net::JsonResponse(200, RaJson(r));
  })));
  for (const char* action : {"suspend", "resume"}) {
    std::string act = action;
    GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/ras/{name}/" + act, Managed(operators, [&trust, act](auto& a, auto&, auto& p) -> Result<HttpResponse> {
      GMPKI_RETURN_IF_ERROR(act == "suspend" ? trust.Suspend(a, p.at("name")) : trust.Resume(a, p.at("name")));
      GMPKI_ASSIGN_OR_RETURN(auto r, trust.Get(a, p.at("name")));
      return net::JsonResponse(200, RaJson(r));
    })));
  }
  return OkStatus();
}

}  // namespace gmpki::ca
