// The one HTTP(S) server of gmpki (CC-FTP trusted channels, CC-FIA certificate identification).
// Beast/Asio/OpenSSL stay inside server.cc and tls_context.cc; this header holds only our types.
//
// Every server, whatever its Router holds, also serves:
//   GET /healthz  -> 200 {"status":"ok","checks":{...}} or 503 {"status":"fail",...}
//   GET /metrics  -> Prometheus text format 0.0.4 of ServerConfig::metrics
// and applies the built-in middleware: request body limit (413 problem), X-Request-Id (kept from
// the client when it is a short token, else generated; echoed in the response), an access log
// line per request through base/log.h (method, path, status, duration, peer subject; never
// bodies, query strings or headers), and the metrics http_requests_total{method,route,status}
// and http_request_duration_seconds{method,route}.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "net/http.h"
#include "net/metrics.h"
#include "net/router.h"

namespace gmpki::net {

enum class ClientCertMode {
  kNone,      // no certificate requested
  kOptional,  // requested; a presented certificate must verify, absence is allowed
  kRequired,  // the handshake fails without a certificate that verifies
};

// Server TLS. TLS 1.2 is the minimum and TLS 1.3 is preferred. The server key is ECDSA P-256
// (see tls_pki.h): OpenSSL 3.0 cannot use SM2 keys in TLS (no RFC 8998 suites, no TLCP), see
// STANDARDS-NOTES §8.1. Client chains may nevertheless be SM2-signed: the server verifies them
// itself with the GM/T 0009 default distinguishing ID "1234567812345678" set on every
// certificate (OpenSSL 3.0 otherwise verifies SM2 with an empty ID), and ECDSA chains still work.
struct TlsServerConfig {
  std::string cert_chain_pem;  // server certificate first, then intermediates
  SecretBytes key_pem;         // PKCS#8 (encrypted or not) or traditional PEM
  SecretBytes key_passphrase;  // empty when the key is not encrypted
  std::string client_ca_pem;   // trust anchors for client certificates (one or more PEM certs)
  ClientCertMode client_cert_mode = ClientCertMode::kNone;
};

struct ServerConfig {
  std::string host = "127.0.0.1";      // IPv4/IPv6 literal or "localhost"
  std::uint16_t port = 0;              // 0: the OS picks; read it with BoundPort() after Start()
  int threads = 2;                     // threads running the I/O context and the handlers
  std::size_t max_body_bytes = 1 << 20;  // larger request bodies get a 413 problem
  std::chrono::milliseconds read_timeout{30000};  // per request (headers + body) and idle
  std::chrono::milliseconds write_timeout{30000};
  std::optional<TlsServerConfig> tls;  // absent: plain HTTP
  std::string name = "gmpki";          // appears in logs
  std::shared_ptr<MetricsRegistry> metrics;  // null: the server creates its own
};

// A health check returns OkStatus() when its dependency is fine; its error message is reported
// by /healthz.
using HealthCheck = std::function<Status()>;

class HttpServer {
 public:
  // The router is copied into the server; handlers run on the server's threads.
  HttpServer(ServerConfig config, Router router);
  ~HttpServer();  // calls Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // REQUIRES: called before Start().
  void AddHealthCheck(std::string name, HealthCheck check);

  // Loads the TLS configuration, binds, listens and starts the threads. Fails with
  // kConfigInvalid (bad TLS material / host), kIoError (bind/listen failed) or
  // kFailedPrecondition (already started).
  Status Start();
  // Graceful shutdown: stops accepting, lets in-flight requests finish (bounded by the
  // timeouts), joins the threads. Idempotent.
  void Stop();
  // The port actually bound; 0 before Start().
  std::uint16_t BoundPort() const;
  MetricsRegistry& metrics();

  // The full in-process pipeline (health, metrics, router, middleware) without a socket; the
  // body limit is applied here too. Useful to test routes. Never throws.
  HttpResponse Handle(HttpRequest request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gmpki::net
