// The shared front of every operator REST API (CA, RA, batches, RA registry): who is asking
// (CC-FIA: the operator behind the verified TLS client certificate), the JSON body, and the
// turning of an Error into an RFC 9457 problem. Its own library (gmpki_operator_api) so the
// services' logic stays free of the HTTP core.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "net/router.h"
#include "services/core/operators.h"

namespace gmpki::services {

// The operator of an HTTPS request: kUnauthenticated without a verified client certificate,
// or when the certificate belongs to no active operator.
Result<Actor> AuthenticateOperator(OperatorRegistry& operators, const net::HttpRequest& r);

// The request body as a JSON object; {} for an empty body; kMalformedInput otherwise.
Result<nlohmann::json> JsonObjectBody(const net::HttpRequest& r);

// A field of a JSON body that may be absent or null; kInvalidArgument when of the wrong type.
template <class T>
Result<std::optional<T>> OptionalField(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<T>();
  try {
    return std::optional<T>(j[key].get<T>());
  } catch (const nlohmann::json::exception&) {
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + key + "' has the wrong type");
  }
}

// Refuses fields a route does not know, so that a misspelt field is an error, not lost.
Status OnlyFields(const nlohmann::json& j, std::initializer_list<const char*> known);

using OperatorOp = std::function<Result<net::HttpResponse>(const Actor&, const net::HttpRequest&,
                                                           const net::PathParams&)>;
// A route handler: authenticates the operator, runs `op`, answers its error as a problem.
// `operators` must outlive the router.
net::Handler OperatorHandler(OperatorRegistry& operators, OperatorOp op);

using JsonOperatorOp = std::function<Result<net::HttpResponse>(const Actor&, const nlohmann::json& body,
                                                               const net::PathParams&)>;
// As OperatorHandler, with the request body parsed as a JSON object (JsonObjectBody) first.
net::Handler JsonOperatorHandler(OperatorRegistry& operators, JsonOperatorOp op);

}  // namespace gmpki::services
