#include "services/ca/ca_routes.h"

#include "services/core/operator_api.h"

#include <nlohmann/json.hpp>

#include "x509/crl.h"
#include "x509/pem.h"

namespace gmpki::ca {
namespace {

using nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;

HttpResponse Problem(const Error& e, const HttpRequest& r) { return net::ProblemResponse(e, r.path); }

Result<json> Body(const HttpRequest& r) { return services::JsonObjectBody(r); }

template <class T>
Result<std::optional<T>> Opt(const json& j, const char* key) {
  return services::OptionalField<T>(j, key);
}

json CaJson(const CaRecord& c) {
  json j{{"name", c.name},     {"parent", c.parent},     {"depth", c.depth},
         {"kind", c.kind},     {"status", c.status},     {"external", c.external},
         {"subject", c.subject}, {"serial", c.serial_hex}, {"not_before", c.not_before},
         {"not_after", c.not_after}};
  if (!c.cert_der.empty()) j["certificate"] = x509::PemEncode(x509::kPemCertificate, c.cert_der);
  return j;
}

json CertJson(const CertRecord& c, bool with_pem) {
  json j{{"ca", c.ca},           {"serial", c.serial_hex}, {"subject", c.subject},
         {"profile", c.profile}, {"status", c.status},     {"not_before", c.not_before},
         {"not_after", c.not_after}, {"issued", c.issued_unix}, {"requested_by", c.requested_by}};
  if (c.revocation_reason) {
    j["revocation_reason"] =
        x509::RevocationReasonName(static_cast<x509::RevocationReason>(*c.revocation_reason));
  }
  if (c.revoked_unix) j["revoked"] = *c.revoked_unix;
  if (with_pem) j["certificate"] = x509::PemEncode(x509::kPemCertificate, c.der);
  return j;
}

Result<IdentityAttributes> ParseIdentity(const json& body) {
  IdentityAttributes id;
  if (!body.contains("identity")) return id;
  const json& j = body["identity"];
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "'identity' must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const char* kKnown[] = {"resident_id", "passport", "insurance_number", "organization_code",
                                   "uscc", "ic_registration", "tax_number"};
    bool ok = false;
    for (auto* k : kKnown) ok |= it.key() == k;
    if (!ok) return Error(ErrorCode::kInvalidArgument, "unknown identity field '" + it.key() + "'");
  }
  GMPKI_ASSIGN_OR_RETURN(id.resident_id, Opt<std::string>(j, "resident_id"));
  GMPKI_ASSIGN_OR_RETURN(id.passport, Opt<std::string>(j, "passport"));
  GMPKI_ASSIGN_OR_RETURN(id.insurance_number, Opt<std::string>(j, "insurance_number"));
  GMPKI_ASSIGN_OR_RETURN(id.organization_code, Opt<std::string>(j, "organization_code"));
  GMPKI_ASSIGN_OR_RETURN(id.uscc, Opt<std::string>(j, "uscc"));
  GMPKI_ASSIGN_OR_RETURN(id.ic_registration, Opt<std::string>(j, "ic_registration"));
  GMPKI_ASSIGN_OR_RETURN(id.tax_number, Opt<std::string>(j, "tax_number"));
  return id;
}

// Authentication (CC-FIA), then the operation; an error becomes a problem.
using Op = services::OperatorOp;
net::Handler Api(const ApiDeps& d, Op op) { return services::OperatorHandler(*d.operators, std::move(op)); }

}  // namespace

Status AddCaApiRoutes(net::Router& router, const ApiDeps& d) {
  CaService& ca = *d.ca;
  std::string openapi = d.openapi_json;
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/openapi.json", [openapi](const HttpRequest&, const PathParams&) {
    return net::TextResponse(200, openapi, "application/json");
  }));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/profiles", Api(d, [](auto&, auto&, auto&) -> Result<HttpResponse> {
    json arr = json::array();
    for (const auto& p : AllProfiles()) {
      arr.push_back({{"name", p.name}, {"description", p.description},
                     {"default_validity_days", p.default_validity_days},
                     {"max_validity_days", p.max_validity_days}});
    }
    return net::JsonResponse(200, arr);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/cas", Api(d, [&ca](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto list, ca.ListCas(a));
    json arr = json::array();
    for (const auto& c : list) arr.push_back(CaJson(c));
    return net::JsonResponse(200, arr);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/cas/{ca}", Api(d, [&ca](auto& a, auto&, auto& p) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::Authorize(a, services::Permission::kCertRead));
    GMPKI_ASSIGN_OR_RETURN(auto c, ca.GetCa(p.at("ca")));
    return net::JsonResponse(200, CaJson(c));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/cas/{ca}/certificates", Api(d, [&ca](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
    IssueRequest req;
    req.ca = p.at("ca");
    GMPKI_ASSIGN_OR_RETURN(auto profile, Opt<std::string>(body, "profile"));
    GMPKI_ASSIGN_OR_RETURN(auto csr, Opt<std::string>(body, "csr"));
    if (!profile || !csr) return Error(ErrorCode::kInvalidArgument, "fields 'profile' and 'csr' (PEM) are required");
    req.profile = *profile;
    req.csr = ToBytes(*csr);
    GMPKI_ASSIGN_OR_RETURN(req.validity_days, Opt<int>(body, "validity_days"));
    GMPKI_ASSIGN_OR_RETURN(req.identity, ParseIdentity(body));
    GMPKI_ASSIGN_OR_RETURN(auto emails, Opt<std::vector<std::string>>(body, "emails"));
    GMPKI_ASSIGN_OR_RETURN(auto dns, Opt<std::vector<std::string>>(body, "dns_names"));
    if (emails) req.emails = *emails;
    if (dns) req.dns_names = *dns;
    GMPKI_ASSIGN_OR_RETURN(auto issued, ca.Issue(a, req));
    return net::JsonResponse(201, CertJson(issued.record, true));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/cas/{ca}/certificates", Api(d, [&ca](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    CertQuery q;
    q.ca = p.at("ca");
    auto get = [&](const char* k) -> std::optional<std::string> {
      auto it = r.query.find(k);
      if (it == r.query.end()) return std::nullopt;
      return it->second;
    };
    q.status = get("status");
    q.subject_contains = get("subject");
    q.profile = get("profile");
    try {
      if (auto l = get("limit")) q.limit = std::stoi(*l);
      if (auto o = get("offset")) q.offset = std::stoi(*o);
    } catch (const std::exception&) {
      return Error(ErrorCode::kInvalidArgument, "limit and offset must be integers");
    }
    GMPKI_ASSIGN_OR_RETURN(auto list, ca.Search(a, q));
    json arr = json::array();
    for (const auto& c : list) arr.push_back(CertJson(c, false));
    return net::JsonResponse(200, arr);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/cas/{ca}/certificates/{serial}", Api(d, [&ca](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    auto fmt_it = r.query.find("format");
    std::string fmt = fmt_it == r.query.end() ? "json" : fmt_it->second;
    bool chain = r.query.count("chain") && r.query.at("chain") == "true";
    if (fmt == "json") {
      GMPKI_ASSIGN_OR_RETURN(auto c, ca.GetCertificate(a, p.at("ca"), p.at("serial")));
      return net::JsonResponse(200, CertJson(c, true));
    }
    ExportFormat f;
    std::string type;
    if (fmt == "pem") { f = ExportFormat::kPem; type = "application/pem-certificate-chain"; }
    else if (fmt == "der") { f = ExportFormat::kDer; type = "application/pkix-cert"; }
    else if (fmt == "p7b") { f = ExportFormat::kPkcs7Der; type = "application/pkcs7-mime"; }
    else return Error(ErrorCode::kInvalidArgument, "format must be json, pem, der or p7b");
    GMPKI_ASSIGN_OR_RETURN(auto bytes, ca.Export(a, p.at("ca"), p.at("serial"), chain, f));
    return net::TextResponse(200, ToString(bytes), type);
  })));
  auto status_route = [&](const char* verb) -> Status {
    std::string v = verb;
    return router.Add("POST", "/api/v1/cas/{ca}/certificates/{serial}/" + v, Api(d, [&ca, v](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
      GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
      if (v == "revoke") {
        GMPKI_ASSIGN_OR_RETURN(auto reason_name, Opt<std::string>(body, "reason"));
        GMPKI_ASSIGN_OR_RETURN(auto reason, x509::ParseRevocationReason(reason_name.value_or("unspecified")));
        GMPKI_RETURN_IF_ERROR(ca.Revoke(a, p.at("ca"), p.at("serial"), reason));
      } else if (v == "hold") {
        GMPKI_RETURN_IF_ERROR(ca.Hold(a, p.at("ca"), p.at("serial")));
      } else if (v == "release") {
        GMPKI_RETURN_IF_ERROR(ca.Release(a, p.at("ca"), p.at("serial")));
      } else if (v == "renew") {
        GMPKI_ASSIGN_OR_RETURN(auto days, Opt<int>(body, "validity_days"));
        GMPKI_ASSIGN_OR_RETURN(auto issued, ca.Renew(a, p.at("ca"), p.at("serial"), days));
        return net::JsonResponse(201, CertJson(issued.record, true));
      } else {
        GMPKI_ASSIGN_OR_RETURN(auto csr, Opt<std::string>(body, "csr"));
        if (!csr) return Error(ErrorCode::kInvalidArgument, "field 'csr' (PEM) is required");
        GMPKI_ASSIGN_OR_RETURN(auto issued, ca.Rekey(a, p.at("ca"), p.at("serial"), AsBytes(*csr)));
        return net::JsonResponse(201, CertJson(issued.record, true));
      }
      GMPKI_ASSIGN_OR_RETURN(auto c, ca.GetCertificate(a, p.at("ca"), p.at("serial")));
      return net::JsonResponse(200, CertJson(c, false));
    }));
  };
  for (const char* v : {"revoke", "hold", "release", "renew", "rekey"}) GMPKI_RETURN_IF_ERROR(status_route(v));
  // Dual certificates (KM): the encryption certificate paired with signing certificate {serial},
  // and subscriber key recovery of encryption certificate {serial} to a new signing certificate.
  auto delivery_json = [](const KmKeyDelivery& d) {
    return json{{"key_id", d.key_id},
                {"skf_enveloped_key_blob", Base64Encode(d.skf_blob)},
                {"sm2_enveloped_key", Base64Encode(d.sm2_enveloped_key)},
                {"enveloped_data", Base64Encode(d.enveloped_data)}};
  };
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/cas/{ca}/certificates/{serial}/encryption", Api(d, [&ca, delivery_json](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(body, {"profile", "validity_days", "request_key", "replaces"}));
    EncryptionIssueRequest req;
    req.ca = p.at("ca");
    req.sign_serial = p.at("serial");
    GMPKI_ASSIGN_OR_RETURN(auto profile, Opt<std::string>(body, "profile"));
    if (!profile) return Error(ErrorCode::kInvalidArgument, "field 'profile' (an encryption profile) is required");
    req.profile = *profile;
    GMPKI_ASSIGN_OR_RETURN(req.validity_days, Opt<int>(body, "validity_days"));
    GMPKI_ASSIGN_OR_RETURN(auto key, Opt<std::string>(body, "request_key"));
    if (key) req.request_key = *key;
    GMPKI_ASSIGN_OR_RETURN(auto replaces, Opt<std::string>(body, "replaces"));
    if (replaces) req.replaces_serial = *replaces;
    GMPKI_ASSIGN_OR_RETURN(auto dual, ca.IssueEncryption(a, req));
    json j = delivery_json(dual.delivery);
    j["certificate"] = CertJson(dual.certificate.record, true);
    return net::JsonResponse(201, j);
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/cas/{ca}/certificates/{serial}/key-recovery", Api(d, [&ca, delivery_json](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
    GMPKI_RETURN_IF_ERROR(services::OnlyFields(body, {"sign_serial", "request_key"}));
    GMPKI_ASSIGN_OR_RETURN(auto sign, Opt<std::string>(body, "sign_serial"));
    if (!sign) return Error(ErrorCode::kInvalidArgument, "field 'sign_serial' (the new carrier's signing certificate) is required");
    GMPKI_ASSIGN_OR_RETURN(auto key, Opt<std::string>(body, "request_key"));
    GMPKI_ASSIGN_OR_RETURN(auto dl, ca.RecoverEncryptionKey(a, p.at("ca"), p.at("serial"), *sign, key.value_or("")));
    return net::JsonResponse(200, delivery_json(dl));
  })));
  GMPKI_RETURN_IF_ERROR(router.Add("POST", "/api/v1/cas/{ca}/crls", Api(d, [&ca](auto& a, auto& r, auto& p) -> Result<HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto body, Body(r));
    GMPKI_ASSIGN_OR_RETURN(auto delta, Opt<bool>(body, "delta"));
    GMPKI_ASSIGN_OR_RETURN(auto crl, ca.IssueCrl(a, p.at("ca"), delta.value_or(false)));
    json j{{"number", crl.number}, {"entries", crl.entries}, {"crl", crl.Pem()}};
    if (crl.delta_base) j["delta_base"] = *crl.delta_base;
    return net::JsonResponse(201, j);
  })));
  auto verify = d.verify_audit;
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/api/v1/audit/verify", Api(d, [verify](auto& a, auto&, auto&) -> Result<HttpResponse> {
    GMPKI_RETURN_IF_ERROR(services::Authorize(a, services::Permission::kAuditRead));
    GMPKI_ASSIGN_OR_RETURN(auto rep, verify());
    json j{{"ok", rep.ok}, {"records", rep.records_checked}, {"checkpoints", rep.checkpoints_checked},
           {"unsigned_tail", rep.unsigned_tail}};
    if (!rep.ok) { j["first_failing_seq"] = rep.first_failing_seq; j["message"] = rep.message; }
    return net::JsonResponse(rep.ok ? 200 : 409, j);
  })));
  return OkStatus();
}

Status AddCaPublicRoutes(net::Router& router, CaService& ca) {
  // GET /crl/<ca>.crl and /crl/<ca>-delta.crl (DER, RFC 5280 §4.2.1.13), the partition CRLs
  // /crl/<ca>-p<N>.crl and /crl/<ca>-p<N>-delta.crl (the URLs CaService::CrlUrl puts in
  // certificates), /ca/<ca>.crt (DER).
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/crl/{file}", [&ca](const HttpRequest& r, const PathParams& p) {
    std::string f = p.at("file");
    if (f.size() < 5 || f.substr(f.size() - 4) != ".crl") {
      return net::ProblemResponse(Error(ErrorCode::kNotFound, "CRL files end in .crl"), r.path);
    }
    std::string name = f.substr(0, f.size() - 4);
    bool delta = name.size() > 6 && name.substr(name.size() - 6) == "-delta";
    if (delta) name = name.substr(0, name.size() - 6);
    // "<ca>-p<digits>" names a partition; if no such partition CRL exists the whole name is
    // tried as a CA name, so a CA that happens to be called "x-p1" still gets its full CRL.
    std::size_t dash = name.rfind("-p");
    if (dash != std::string::npos && dash > 0 && dash + 2 < name.size() &&
        name.size() - dash <= 20 &&  // at most 18 digits: fits std::stoll
        name.find_first_not_of("0123456789", dash + 2) == std::string::npos) {
      auto part = ca.LatestPartitionCrl(name.substr(0, dash), std::stoll(name.substr(dash + 2)),
                                        delta);
      if (part.ok()) return net::TextResponse(200, ToString(*part), "application/pkix-crl");
      if (part.error().code() != ErrorCode::kNotFound) {
        return net::ProblemResponse(part.error(), r.path);
      }
    }
    auto crl = ca.LatestCrl(name, delta);
    if (!crl.ok()) return net::ProblemResponse(crl.error(), r.path);
    return net::TextResponse(200, ToString(*crl), "application/pkix-crl");
  }));
  GMPKI_RETURN_IF_ERROR(router.Add("GET", "/ca/{file}", [&ca](const HttpRequest& r, const PathParams& p) {
    std::string f = p.at("file");
    if (f.size() < 5 || f.substr(f.size() - 4) != ".crt") {
      return net::ProblemResponse(Error(ErrorCode::kNotFound, "CA certificates end in .crt"), r.path);
    }
    auto rec = ca.GetCa(f.substr(0, f.size() - 4));
    if (!rec.ok()) return net::ProblemResponse(rec.error(), r.path);
    if (rec->cert_der.empty()) {
      return net::ProblemResponse(Error(ErrorCode::kNotFound, "the CA has no certificate yet"), r.path);
    }
    return net::TextResponse(200, ToString(rec->cert_der), "application/pkix-cert");
  }));
  return OkStatus();
}

}  // namespace gmpki::ca
