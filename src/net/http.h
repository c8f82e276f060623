// HTTP request/response values shared by every gmpki server and client, and the RFC 9457
// problem+json helpers. No Beast, Asio or OpenSSL type appears here (CONVENTIONS: one home per
// external library); those live in server.cc / client.cc / tls_context.cc only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/bytes.h"
#include "base/error.h"

namespace gmpki::net {

// ASCII case-insensitive ordering: HTTP field names are case-insensitive (RFC 9110 §5.1).
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// Header fields. One value per name; a repeated field is joined with ", " (RFC 9110 §5.3).
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

// The identity proven by a verified TLS client certificate (CC-FIA). Present in HttpRequest only
// when the server's own chain verification (see server.h, ClientCertMode) accepted the chain.
struct PeerIdentity {
  std::string subject;             // RFC 4514 string, e.g. "CN=alice,OU=security-admin,O=gmpki"
  std::string issuer;              // RFC 4514 string of the issuer
  std::string serial_hex;          // lower-case even-length hex, as `openssl x509 -serial`
  std::string sha256_fingerprint;  // lower-case hex SHA-256 of the DER certificate
  std::string sm3_fingerprint;     // lower-case hex SM3 of the DER certificate
  Bytes der;                       // the leaf certificate as received
};

struct HttpRequest {
  std::string method;                        // upper-case token: "GET", "POST", ...
  std::string target;                        // raw request-target, e.g. "/a/b?x=1"
  std::string path;                          // target without query, still percent-encoded
  std::map<std::string, std::string> query;  // decoded query parameters (last one wins)
  Headers headers;
  std::string body;
  std::string remote_address;                // "ip:port" of the TCP peer
  std::string request_id;                    // X-Request-Id (from the client or generated)
  bool tls = false;                          // arrived over TLS
  std::optional<PeerIdentity> peer;          // verified client certificate, if any

  // The header's value, or `fallback` when absent.
  std::string Header(std::string_view name, std::string_view fallback = "") const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;  // Content-Type and Content-Length are set from the fields below
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kProblemContentType = "application/problem+json";
inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";

// `body` serialised compactly with content type application/json.
HttpResponse JsonResponse(int status, const nlohmann::json& body);
HttpResponse TextResponse(int status, std::string body,
                          std::string_view content_type = "text/plain; charset=utf-8");

// "https://gmpki.dev/problems/<slug>": the RFC 9457 §3.1.1 "type" URI of a problem.
std::string ProblemTypeUri(std::string_view slug);

// RFC 9457 problem details: {type, title, status, detail, instance} as
// application/problem+json. Status, slug and title come from the error catalogue (base/error.h);
// detail is error.message(). `instance` (usually the request path) is omitted when empty.
HttpResponse ProblemResponse(const Error& error, std::string_view instance = "");
// For the few HTTP-level problems with no ErrorCode (405 method-not-allowed, 404 no route).
HttpResponse ProblemResponse(int status, std::string_view slug, std::string_view title,
                             std::string_view detail, std::string_view instance = "");

// Percent-decoding of a path segment or query component ('+' -> ' ' only when `plus_is_space`).
// Fails on a truncated or non-hex escape.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);
// Splits "path?query" into the raw path (left percent-encoded, so that "%2F" cannot forge a
// segment; the router decodes each segment) and the decoded query parameters.
Status ParseTarget(std::string_view target, std::string* path,
                   std::map<std::string, std::string>* query);

}  // namespace gmpki::net
