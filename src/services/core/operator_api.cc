#include "services/core/operator_api.h"

namespace gmpki::services {

Result<Actor> AuthenticateOperator(OperatorRegistry& operators, const net::HttpRequest& r) {
  if (!r.peer) {
    return Error(ErrorCode::kUnauthenticated,
                 "this API requires an operator client certificate (mutual TLS)");
  }
  return operators.Authenticate(r.peer->sm3_fingerprint, "https");
}

Result<nlohmann::json> JsonObjectBody(const net::HttpRequest& r) {
  if (r.body.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kMalformedInput, "the request body must be a JSON object");
  }
  return j;
}

Status OnlyFields(const nlohmann::json& j, std::initializer_list<const char*> known) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return Error(ErrorCode::kInvalidArgument, "unknown field '" + it.key() + "'");
  }
  return OkStatus();
}

net::Handler OperatorHandler(OperatorRegistry& operators, OperatorOp op) {
  return [&operators, op = std::move(op)](const net::HttpRequest& r,
                                          const net::PathParams& p) -> net::HttpResponse {
    auto actor = AuthenticateOperator(operators, r);
    if (!actor.ok()) return net::ProblemResponse(actor.error(), r.path);
    auto res = op(*actor, r, p);
    if (!res.ok()) return net::ProblemResponse(res.error(), r.path);
    return std::move(res).value();
  };
}

net::Handler JsonOperatorHandler(OperatorRegistry& operators, JsonOperatorOp op) {
  return OperatorHandler(operators, [op = std::move(op)](const Actor& a, const net::HttpRequest& r,
                                                         const net::PathParams& p) -> Result<net::HttpResponse> {
    GMPKI_ASSIGN_OR_RETURN(auto body, JsonObjectBody(r));
    return op(a, body, p);
  });
}

}  // namespace gmpki::services
