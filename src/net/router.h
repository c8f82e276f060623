// Method + path-pattern routing. Thread safety: Add() before the server starts; Dispatch() is
// const and may run concurrently on many threads.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "net/http.h"

namespace gmpki::net {

// Values of the "{name}" segments of the matched pattern, percent-decoded.
using PathParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

class Router {
 public:
  // Registers `handler` for `method` (e.g. "GET") and `pattern`, which starts with '/' and whose
  // segments are literals or "{name}" (one whole, non-empty segment), e.g.
  // "/api/v1/cas/{ca}/certificates/{serial}", and whose last segment may be "{name...}": the
  // rest of the path, one or more segments, empty ones and '/' included (RFC 5019 §5: an OCSP
  // GET carries base64 with '/' after /ocsp/). A literal segment wins over a parameter at the
  // same position, and a route naming every segment over a tail. Fails (kInvalidArgument) on a malformed pattern, a repeated parameter name or
  // an already registered method+pattern.
  Status Add(std::string_view method, std::string_view pattern, Handler handler);

  // Routes the request. Never throws:
  //  - no pattern matches the path -> 404 problem (slug "not-found")
  //  - a pattern matches but not for this method -> 405 problem "method-not-allowed" with
  //    an Allow header listing the registered methods
  //  - the handler throws -> 500 problem "internal" (the exception text is logged, not sent).
  // `route` (optional) receives the matched pattern, or "unmatched", for metrics labels.
  HttpResponse Dispatch(const HttpRequest& request, std::string* route = nullptr) const;

  // The registered routes as (method, pattern), in registration order (for documentation
  // checks: every route must appear in docs/openapi.json).
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{x}" kept verbatim for parameters
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace gmpki::net
