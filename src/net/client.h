// A small synchronous HTTP/1.1 client for http:// and https:// URLs (tests, RA -> CA). One
// connection per request; safe to use from several threads at once. Beast/Asio/OpenSSL stay in
// client.cc.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "net/http.h"

namespace gmpki::net {

struct ClientConfig {
  // Trust anchors for https:// servers (PEM, one or more). Empty: OpenSSL's default paths.
  std::string ca_bundle_pem;
  // Optional client certificate (chain, leaf first) and its key for mutual TLS.
  std::string client_cert_pem;
  SecretBytes client_key_pem;
  SecretBytes client_key_passphrase;
  // Check that the server certificate names the URL host (subjectAltName DNS or IP).
  bool verify_hostname = true;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};   // the whole exchange after connecting
  std::size_t max_response_bytes = 16u << 20;
};

class HttpClient {
 public:
  // Fails with kConfigInvalid on unusable PEM material.
  static Result<HttpClient> Create(ClientConfig config);
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  // Errors: kInvalidArgument (bad URL), kUnavailable (resolve/connect failed or refused, TLS
  // handshake failed), kTimeout, kIoError (connection broken mid-exchange), kTooLarge.
  // HTTP error statuses are not errors: they come back as the response.
  Result<HttpResponse> Get(std::string_view url, const Headers& headers = {}) const;
  Result<HttpResponse> Post(std::string_view url, std::string body,
                            std::string_view content_type = kJsonContentType,
                            const Headers& headers = {}) const;
  Result<HttpResponse> Send(std::string_view method, std::string_view url, std::string body,
                            const Headers& headers = {}) const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gmpki::net
