// The TSA's HTTP routes (RFC 3161 section 3.4, "Time-Stamp Protocol via HTTP"), for the
// plain-HTTP router (a timestamp needs no transport security: the token is signed).
//   POST /tsa                 application/timestamp-query -> application/timestamp-reply
//   POST /api/v1/tsa/verify   JSON {"token": base64 (TimeStampResp or TimeStampToken),
//                                   "data": base64 | "hash": hex + "hash_alg": "sm3" |
//                                   "sha256" | "sha1" | dotted OID, "nonce": hex (optional)}
//                             -> 200 {"valid", "reasons": [...], "serial", "gen_time",
//                                     "gen_time_unix_ms", "policy", "hash_alg", "nonce",
//                                     "accuracy_us"}; 400 problem for a bad body.
#pragma once

#include "net/router.h"
#include "services/tsa/tsa_service.h"

namespace gmpki::tsa {

inline constexpr std::string_view kTimestampQueryType = "application/timestamp-query";
inline constexpr std::string_view kTimestampReplyType = "application/timestamp-reply";

// Both routes. `tsa` must outlive the router.
Status AddTsaRoutes(net::Router& router, TsaService& tsa);

}  // namespace gmpki::tsa
