// CMP over HTTP (RFC 6712) on the shared HTTP core: POST /cmp/<ca-alias> with a DER
// PKIMessage (Content-Type application/pkixcmp) is answered with a DER PKIMessage, HTTP 200,
// also for CMP error messages (RFC 6712 §3.4). Served on the plain-HTTP address: the messages
// protect themselves (MAC). HTTP problems (RFC 9457) only when there is no CMP answer to give:
// 404 for an unknown CA alias, 400 for a body that is not a PKIMessage, 413 when too large.
#pragma once

#include "net/router.h"
#include "services/cmp/cmp_service.h"

namespace gmpki::cmp {

inline constexpr std::string_view kPkixCmpContentType = "application/pkixcmp";

Status AddCmpRoutes(net::Router& router, CmpService& cmp);

}  // namespace gmpki::cmp
