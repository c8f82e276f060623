#include "net/router.h"

#include <algorithm>
#include <exception>
#include <set>

#include "base/log.h"

namespace gmpki::net {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  // "/" is the root with no segments; "/a/b" -> {a, b}; a trailing slash gives an empty segment,
  // so "/a/" does not match "/a" (no silent aliasing of resources).
  if (path.size() <= 1) return out;
  std::string_view rest = path.substr(1);
  while (true) {
    std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// "{name...}": the rest of the path, one or more segments (router.h).
bool IsTail(std::string_view seg) {
  return seg.size() > 5 && seg.front() == '{' && seg.substr(seg.size() - 4) == "...}";
}

std::string_view ParamName(std::string_view seg) {
  return IsTail(seg) ? seg.substr(1, seg.size() - 5) : seg.substr(1, seg.size() - 2);
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Status Router::Add(std::string_view method, std::string_view pattern, Handler handler) {
  if (!IsToken(method)) {
    return Error(ErrorCode::kInvalidArgument, "method must be an upper-case token");
  }
  if (pattern.empty() || pattern.front() != '/') {
    return Error(ErrorCode::kInvalidArgument, "pattern must start with '/'");
  }
  if (!handler) return Error(ErrorCode::kInvalidArgument, "empty handler");
  Route r;
  r.method = std::string(method);
  r.pattern = std::string(pattern);
  std::set<std::string_view> names;
  const std::vector<std::string_view> pattern_segs = SplitPath(pattern);
  for (std::size_t i = 0; i < pattern_segs.size(); ++i) {
    std::string_view seg = pattern_segs[i];
    if (IsTail(seg) && i + 1 != pattern_segs.size()) {
      return Error(ErrorCode::kInvalidArgument,
                   "a tail parameter '" + std::string(seg) + "' must end the pattern " + r.pattern);
    }
    if (seg.find_first_of("{}") != std::string_view::npos) {
      if (!IsParam(seg) || ParamName(seg).empty() ||
          ParamName(seg).find_first_of("{}/.") != std::string_view::npos) {
        return Error(ErrorCode::kInvalidArgument,
                     "bad parameter segment '" + std::string(seg) + "' in " + r.pattern);
      }
      if (!names.insert(seg).second) {
        return Error(ErrorCode::kInvalidArgument, "repeated parameter in " + r.pattern);
      }
    }
    r.segments.emplace_back(seg);
  }
  for (const Route& other : routes_) {
    if (other.method == r.method && other.segments == r.segments) {
      return Error(ErrorCode::kAlreadyExists, r.method + " " + r.pattern + " already registered");
    }
  }
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
  return OkStatus();
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(routes_.size());
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

HttpResponse Router::Dispatch(const HttpRequest& request, std::string* route) const {
  if (route != nullptr) *route = "unmatched";
  std::vector<std::string_view> segs = SplitPath(request.path);

  // Score a match by the positions of its literal segments, most significant first, so that
  // "/cas/{ca}/crl" and "/cas/root/{x}" resolve deterministically toward the earlier literal.
  const Route* best = nullptr;
  std::vector<bool> best_score;
  std::set<std::string> allowed;
  for (const Route& r : routes_) {
    const bool tail = !r.segments.empty() && IsTail(r.segments.back());
    if (tail ? segs.size() < r.segments.size() : r.segments.size() != segs.size()) continue;
    // A tail route scores no literal at its tail positions, so a route that names every
    // segment wins over it.
    std::vector<bool> score(segs.size());
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (tail && i + 1 >= r.segments.size()) break;  // the tail takes the rest, empty or not
      if (IsParam(r.segments[i])) {
        ok = !segs[i].empty();
      } else {
        ok = r.segments[i] == segs[i];
        score[i] = true;
      }
    }
    if (!ok) continue;
    allowed.insert(r.method);
    if (r.method != request.method) continue;
    if (best == nullptr || score > best_score) {
      best = &r;
      best_score = std::move(score);
    }
  }

  if (best == nullptr) {
    if (allowed.empty()) {
      return ProblemResponse(404, "not-found", "Not found", "no resource at this path",
                             request.path);
    }
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse r = ProblemResponse(405, "method-not-allowed", "Method not allowed",
                                     request.method + " is not allowed here", request.path);
    r.headers["Allow"] = allow;  // RFC 9110 §15.5.6: a 405 response MUST carry Allow
    return r;
  }

  if (route != nullptr) *route = best->pattern;
  PathParams params;
  for (std::size_t i = 0; i < best->segments.size(); ++i) {
    const std::string& p = best->segments[i];
    if (!IsParam(p)) continue;
    std::string raw(segs[i]);
    if (IsTail(p)) {
      for (std::size_t j = i + 1; j < segs.size(); ++j) (raw += '/') += segs[j];
    }
    Result<std::string> value = PercentDecode(raw);
    if (!value) return ProblemResponse(value.error(), request.path);
    params[std::string(ParamName(p))] = std::move(value).value();
  }
  try {
    return best->handler(request, params);
  } catch (const std::exception& e) {
    log::Error("handler for {} {} threw: {}", request.method, best->pattern, e.what());
  } catch (...) {
    log::Error("handler for {} {} threw a non-standard exception", request.method,
               best->pattern);
  }
  // The exception text stays in the log: it may carry internals the client must not see.
  return ProblemResponse(Error(ErrorCode::kInternal, "the request could not be completed"),
                         request.path);
}

}  // namespace gmpki::net
