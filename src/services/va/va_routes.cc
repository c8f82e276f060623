#include "services/va/va_routes.h"

#include <algorithm>
#include <cctype>

namespace gmpki::va {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;

constexpr std::string_view kRequestType = "application/ocsp-request";
constexpr std::string_view kResponseType = "application/ocsp-response";
constexpr std::string_view kBasePath = "/ocsp/";

// The media type without parameters, lower-cased (RFC 9110 section 8.3.1: case-insensitive).
std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

HttpResponse ToHttp(const HttpRequest& request, const OcspAnswer& answer, TimePoint now) {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(kResponseType);
  const OcspAnswerBody& b = *answer.body;
  if (!answer.cacheable) {
    r.headers["Cache-Control"] = "no-cache";
    r.body.assign(b.der.begin(), b.der.end());
    return r;
  }
  // RFC 5019 section 6.2: max-age no later than nextUpdate; public (any cache may store it),
  // no-transform (the DER is signed), must-revalidate (never served stale past nextUpdate).
  auto left = std::chrono::duration_cast<std::chrono::seconds>(b.next_update - now).count();
  r.headers["Cache-Control"] = "max-age=" + std::to_string(std::max<std::int64_t>(left, 0)) +
                               ", public, no-transform, must-revalidate";
  r.headers["Last-Modified"] = b.last_modified;
  r.headers["Expires"] = b.expires;
  r.headers["ETag"] = b.etag;
  // RFC 9110 section 13.1.2: a matching If-None-Match on GET gets 304 Not Modified.
  if (request.method == "GET" && request.Header("If-None-Match") == b.etag) {
    r.status = 304;
    return r;
  }
  r.body.assign(b.der.begin(), b.der.end());
  return r;
}

}  // namespace

Status AddOcspRoutes(net::Router& plain, OcspResponder& responder, const Clock& clock) {
  GMPKI_RETURN_IF_ERROR(
      plain.Add("POST", "/ocsp", [&responder, &clock](const HttpRequest& r, const PathParams&) {
        // RFC 6960 Appendix A.1: "Content-Type: application/ocsp-request".
        if (MediaType(r.Header("Content-Type")) != kRequestType) {
          return net::ProblemResponse(415, "unsupported-media-type", "Unsupported media type",
                                      "an OCSP request is sent as application/ocsp-request",
                                      r.path);
        }
        if (r.body.size() > x509::kMaxOcspRequestSize) {
          return net::ProblemResponse(
              Error(ErrorCode::kTooLarge, "an OCSP request is at most " +
                                              std::to_string(x509::kMaxOcspRequestSize) + " bytes"),
              r.path);
        }
        TimePoint now = clock.Now();
        return ToHttp(r, responder.Respond(AsBytes(r.body), now), now);
      }));
  auto get = [&responder, &clock](const HttpRequest& r, const PathParams&) {
    // The raw (still percent-encoded) path: ParseOcspGetPath decodes it, '/' included.
    std::string_view tail = std::string_view(r.path).substr(kBasePath.size());
    TimePoint now = clock.Now();
    return ToHttp(r, responder.RespondGet(tail, now), now);
  };
  GMPKI_RETURN_IF_ERROR(plain.Add("GET", "/ocsp/{request...}", get));
  return OkStatus();
}

}  // namespace gmpki::va
