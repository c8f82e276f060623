#include "net/pipeline.h"

#include <exception>
#include <random>

#include <nlohmann/json.hpp>

#include "base/log.h"

namespace gmpki::net::internal {

std::string RequestIdFor(const HttpRequest& request) {
  std::string given = request.Header(kRequestIdHeader);
  bool ok = !given.empty() && given.size() <= 64;
  for (char c : given) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (ok) return given;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t a = rng(), b = rng();
  Bytes raw(16);
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<std::uint8_t>(a >> (8 * i));
    raw[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
  }
  return HexEncode(raw);
}

Pipeline::Pipeline(Router router, std::shared_ptr<MetricsRegistry> metrics,
                   std::size_t max_body_bytes, std::string server_name)
    : router_(std::move(router)),
      metrics_(metrics ? std::move(metrics) : std::make_shared<MetricsRegistry>()),
      max_body_bytes_(max_body_bytes),
      name_(std::move(server_name)),
      requests_(metrics_->AddCounter("http_requests_total", "HTTP requests handled",
                                     {"method", "route", "status"})),
      duration_(metrics_->AddHistogram("http_request_duration_seconds",
                                       "Time from a complete request to its response",
                                       {"method", "route"})) {}

void Pipeline::AddHealthCheck(std::string name, HealthCheck check) {
  std::lock_guard lock(health_mu_);
  health_checks_.emplace_back(std::move(name), std::move(check));
}

HttpResponse Pipeline::Health() const {
  nlohmann::json checks = nlohmann::json::object();
  bool all_ok = true;
  std::lock_guard lock(health_mu_);
  for (const auto& [name, check] : health_checks_) {
    std::string result = "ok";
    try {
      Status s = check();
      if (!s.ok()) result = "fail: " + s.error().ToString();
    } catch (const std::exception& e) {
      result = std::string("fail: exception: ") + e.what();
    } catch (...) {
      result = "fail: exception";
    }
    if (result != "ok") all_ok = false;
    checks[name] = result;
  }
  return JsonResponse(all_ok ? 200 : 503,
                      {{"status", all_ok ? "ok" : "fail"}, {"checks", std::move(checks)}});
}

HttpResponse Pipeline::Handle(HttpRequest& request) {
  auto start = std::chrono::steady_clock::now();
  request.request_id = RequestIdFor(request);
  std::string route = "unmatched";
  HttpResponse response;
  if (request.body.size() > max_body_bytes_) {
    response = ProblemResponse(
        Error(ErrorCode::kTooLarge,
              "request body exceeds " + std::to_string(max_body_bytes_) + " bytes"),
        request.path);
  } else if (request.path == "/healthz" || request.path == "/metrics") {
    route = request.path;
    if (request.method != "GET" && request.method != "HEAD") {
      response = ProblemResponse(405, "method-not-allowed", "Method not allowed",
                                 request.method + " is not allowed here", request.path);
      response.headers["Allow"] = "GET, HEAD";
    } else if (request.path == "/healthz") {
      response = Health();
    } else {
      response = TextResponse(200, metrics_->Expose(), MetricsRegistry::kContentType);
    }
  } else {
    try {
      response = router_.Dispatch(request, &route);
    } catch (...) {  // Dispatch does not throw; a bad_alloc on the way is still contained here.
      response = ProblemResponse(Error(ErrorCode::kInternal, "request failed"), request.path);
    }
  }
  Finish(request, route, response, start);
  return response;
}

HttpResponse Pipeline::Reject(HttpRequest& request, const Error& error) {
  auto start = std::chrono::steady_clock::now();
  request.request_id = RequestIdFor(request);
  HttpResponse response = ProblemResponse(error, request.path);
  Finish(request, "unmatched", response, start);
  return response;
}

void Pipeline::Finish(const HttpRequest& request, const std::string& route,
                      HttpResponse& response, std::chrono::steady_clock::time_point start) {
  response.headers[std::string(kRequestIdHeader)] = request.request_id;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string status = std::to_string(response.status);
  requests_.Inc({request.method, route, status});
  duration_.Observe(seconds, {request.method, route});
  // Access log: no bodies, no query strings (they can carry tokens), no headers.
  log::Info("{} {} {} {} {} {:.1f}ms rid={} peer={}", name_, request.remote_address,
            request.method, request.path, status, seconds * 1000, request.request_id,
            request.peer ? request.peer->subject : std::string("-"));
}

}  // namespace gmpki::net::internal
