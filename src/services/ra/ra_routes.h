// The RA's HTTP interface on the shared HTTP core (src/net): REST under /api/v1/ra/ on the
// operator HTTPS API, operators authenticated by their verified TLS client certificate exactly
// as the CA routes do (CC-FIA), JSON in and out, every error an RFC 9457 problem+json response.
// docs/openapi.json describes the routes.
#pragma once

#include "net/router.h"
#include "services/core/operators.h"
#include "services/ra/ra_service.h"

namespace gmpki::ra {

struct RaApiDeps {
  RaService* ra = nullptr;                         // REQUIRED
  services::OperatorRegistry* operators = nullptr;  // REQUIRED: maps client certificates
};

// Registers every /api/v1/ra/ route. kInvalidArgument when a dependency is missing or a route
// is already registered.
Status AddRaApiRoutes(net::Router& router, const RaApiDeps& deps);

}  // namespace gmpki::ra
