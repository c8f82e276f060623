// The OCSP responder's HTTP routes (RFC 6960 Appendix A.1, RFC 5019 sections 5 and 6), served
// on the plain-HTTP address (OCSP responses are signed; clients fetch them without TLS):
//   POST /ocsp               body: DER OCSPRequest, Content-Type application/ocsp-request
//   GET  /ocsp/{base64...}   the URL-encoded base64 of the DER OCSPRequest
// Answers are application/ocsp-response, HTTP 200, also for OCSP error statuses
// (malformedRequest, unauthorized, internalError). Only a wrong method (405, by the router), a
// wrong Content-Type (415) or an oversized body (413) get problem+json.
//
// RFC 5019 section 6 caching headers on a successful answer without nonce: Last-Modified
// (thisUpdate), Expires (nextUpdate), ETag, Cache-Control "max-age=<seconds until nextUpdate>,
// public, no-transform, must-revalidate"; a matching If-None-Match gets 304. Nonce and error
// answers carry Cache-Control no-cache.
#pragma once

#include <cstddef>

#include "base/clock.h"
#include "net/router.h"
#include "services/va/ocsp_responder.h"

namespace gmpki::va {


// Registers the routes; `responder` and `clock` must outlive the router's users.
Status AddOcspRoutes(net::Router& plain, OcspResponder& responder, const Clock& clock);

}  // namespace gmpki::va
