// INTERNAL to gmpki_net (not a public header): the request pipeline shared by every server,
// independent of Beast so that it is cheap to compile and test. Order: request id, body limit,
// built-in /healthz and /metrics, router; then metrics and the access log line.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/http.h"
#include "net/metrics.h"
#include "net/router.h"
#include "net/server.h"

namespace gmpki::net::internal {

class Pipeline {
 public:
  Pipeline(Router router, std::shared_ptr<MetricsRegistry> metrics, std::size_t max_body_bytes,
           std::string server_name);

  void AddHealthCheck(std::string name, HealthCheck check);
  MetricsRegistry& metrics() { return *metrics_; }
  std::size_t max_body_bytes() const { return max_body_bytes_; }

  // Runs the whole pipeline. Never throws.
  HttpResponse Handle(HttpRequest& request);
  // Records and logs a request that was rejected before it could be fully read (body over the
  // limit, malformed HTTP), and returns the problem response to send.
  HttpResponse Reject(HttpRequest& request, const Error& error);

 private:
  HttpResponse Health() const;
  void Finish(const HttpRequest& request, const std::string& route, HttpResponse& response,
              std::chrono::steady_clock::time_point start);

  Router router_;
  std::shared_ptr<MetricsRegistry> metrics_;
  std::size_t max_body_bytes_;
  std::string name_;
  Counter& requests_;
  Histogram& duration_;
  mutable std::mutex health_mu_;
  std::vector<std::pair<std::string, HealthCheck>> health_checks_;
};

// Accepts a client's X-Request-Id when it is 1..64 characters of [A-Za-z0-9._-]; otherwise
// generates 16 random bytes as hex (not a secret: it only correlates log lines).
std::string RequestIdFor(const HttpRequest& request);

}  // namespace gmpki::net::internal
