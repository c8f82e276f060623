// The CA's HTTP interface on the shared HTTP core (src/net): the operator REST API (HTTPS,
// operators authenticated by client certificate) and the public download routes served on the
// plain-HTTP address (CRLs and CA certificates protect themselves by their signatures).
// Every error is an RFC 9457 problem+json response. docs/openapi.json describes the API.
#pragma once

#include <functional>

#include "audit/audit.h"
#include "net/router.h"
#include "services/ca/ca_service.h"
#include "services/core/operators.h"

namespace gmpki::ca {

struct ApiDeps {
  CaService* ca = nullptr;
  services::OperatorRegistry* operators = nullptr;
  // Verifies the audit log (for the audit administrator's /api/v1/audit/verify).
  std::function<Result<audit::VerifyReport>()> verify_audit;
  store::Database* db = nullptr;  // for audit search
  std::string openapi_json;       // served at /openapi.json
};

Status AddCaApiRoutes(net::Router& router, const ApiDeps& deps);
Status AddCaPublicRoutes(net::Router& router, CaService& ca);

}  // namespace gmpki::ca
