// Pieces shared by the bench_ra_load subcommands (bench/README.md
// "bench_ra_load"): a blocking HTTP/1.1 keep-alive connection over mutual TLS
// that presents its own client certificate (one per registration system),
// latency statistics and process CPU time (bench_util.h).
//
// OpenSSL is used directly on POSIX sockets, as in bench_http_load.cc:
// Boost.Beast stays in src/net (CONVENTIONS rule 2) and src/net has no
// keep-alive client. This is benchmark code, outside the component boundaries;
// OpenSSL types stay in ra_bench_conn.cc.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bench_util.h"
#include <vector>

namespace gmpki::bench {

// The client side of the TLS setup, shared by all connections: trust anchor for
// the server.
class TlsClient {
 public:
  // `ca_pem_file`: the deployment's TLS CA (PEM). Throws std::runtime_error on
  // failure.
  explicit TlsClient(const std::string& ca_pem_file);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  void* ctx() const { return ctx_; }

 private:
  void* ctx_ = nullptr;  // SSL_CTX
};

// A client identity: certificate chain and private key (PEM; the key
// unencrypted, or encrypted with `passphrase`). Throws std::runtime_error when
// they do not load.
class ClientIdentity {
 public:
  ClientIdentity(const std::string& cert_pem, const std::string& key_pem,
                 const std::string& passphrase = "");
  ~ClientIdentity();
  ClientIdentity(const ClientIdentity&) = delete;
  ClientIdentity& operator=(const ClientIdentity&) = delete;
  void* cert() const { return cert_; }
  void* key() const { return key_; }

 private:
  void* cert_ = nullptr;  // X509
  void* key_ = nullptr;   // EVP_PKEY
};

// One keep-alive HTTPS connection to 127.0.0.1:port. Not thread-safe: one
// thread at a time.
class Conn {
 public:
  Conn(const TlsClient& tls, const ClientIdentity& id, int port);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // TCP connect (TCP_NODELAY) and the TLS handshake presenting the identity's
  // certificate.
  bool Open(std::string* error);
  void Close();
  bool is_open() const { return fd_ >= 0; }
  // How many times Open() succeeded (1 for a connection that was never
  // re-established).
  int opens() const { return opens_; }

  // Sends one request and reads the answer; returns the HTTP status, 0 when the
  // connection broke (it is then closed). The body is in last_body().
  int Request(const std::string& method, const std::string& path, const std::string& body);
  const std::string& last_body() const { return body_; }

 private:
  bool WriteAll(const std::string& s);
  bool ReadMore();

  const TlsClient& tls_;
  const ClientIdentity& id_;
  int port_;
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL
  int opens_ = 0;
  std::string buf_, body_;
};


}  // namespace gmpki::bench
