// HTTP routes of the CA's registration-system registry (CA-01): the RA-to-CA endpoint
// (ra_protocol.h; RAs authenticated by their TLS client certificate, requests by their SM2
// signature) and the security administrator's management routes under /api/v1/ras.
#pragma once

#include "net/router.h"
#include "services/ca/ra_trust.h"
#include "services/core/operators.h"

namespace gmpki::ca {

Status AddRaLinkRoutes(net::Router& router, RaTrust& trust);
Status AddRaManagementRoutes(net::Router& router, RaTrust& trust,
                             services::OperatorRegistry& operators);

}  // namespace gmpki::ca
