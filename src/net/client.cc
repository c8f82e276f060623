// The synchronous HTTP(S) client. Asio operations run asynchronously on a private io_context
// so that Beast's stream timeouts apply; the caller simply blocks.
#include "net/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/ossl.h"

namespace gmpki::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Url {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  std::string port;
  std::string target;
};

Result<Url> ParseUrl(std::string_view url) {
  Url u;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return Error(ErrorCode::kInvalidArgument, "URL scheme must be http or https");
  }
  std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target = "/" + u.target;
  if (authority.find('@') != std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument, "credentials in URLs are not accepted");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error(ErrorCode::kInvalidArgument, "bad IPv6");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error(ErrorCode::kInvalidArgument, "bad URL authority");
      port = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return Error(ErrorCode::kInvalidArgument, "URL has no host");
  if (port.empty()) port = u.tls ? "443" : "80";
  if (port.find_first_not_of("0123456789") != std::string_view::npos || port.size() > 5) {
    return Error(ErrorCode::kInvalidArgument, "bad port in URL");
  }
  u.port = std::string(port);
  return u;
}

// Runs one asynchronous operation to completion on `ioc`.
template <class Start>
beast::error_code RunOp(asio::io_context& ioc, Start start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

Error MapError(std::string_view stage, const beast::error_code& ec) {
  std::string msg = std::string(stage) + ": " + ec.message();
  if (ec == beast::error::timeout) return Error(ErrorCode::kTimeout, msg);
  if (ec.category() == asio::error::get_ssl_category() ||
      ec == asio::ssl::error::stream_truncated) {
    // Includes a server refusing our certificate: in TLS 1.3 its alert arrives on first read.
    return Error(ErrorCode::kUnavailable, "TLS " + msg);
  }
  if (ec == http::error::body_limit) return Error(ErrorCode::kTooLarge, msg);
  return Error(ErrorCode::kIoError, msg);
}

HttpResponse ToResponse(http::response<http::string_body>&& msg) {
  HttpResponse r;
  r.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    auto [it, inserted] = r.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  auto ct = r.headers.find("Content-Type");
  r.content_type = ct == r.headers.end() ? "" : ct->second;
  r.body = std::move(msg.body());
  return r;
}

}  // namespace

struct HttpClient::Impl {
  ClientConfig config;
  std::optional<asio::ssl::context> ssl;

  template <class Stream>
  Result<HttpResponse> Exchange(asio::io_context& ioc, Stream& stream,
                                http::request<http::string_body>& req) const {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(config.timeout);
    beast::error_code write_ec = RunOp(ioc, [&](auto handler) {
      http::async_write(stream, req, std::move(handler));
    });
    if (write_ec == beast::error::timeout) return MapError("write", write_ec);
    // Even when the write failed (a server rejecting an oversized body closes early) the
    // server's response may already be waiting: try to read it.
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(config.max_response_bytes);
    beast::error_code read_ec = RunOp(ioc, [&](auto handler) {
      http::async_read(stream, buffer, parser, std::move(handler));
    });
    if (read_ec) return MapError(write_ec ? "write" : "read", write_ec ? write_ec : read_ec);
    return ToResponse(parser.release());
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<HttpClient> HttpClient::Create(ClientConfig config) {
  auto impl = std::make_unique<Impl>();
  GMPKI_ASSIGN_OR_RETURN(internal::SslCtxPtr ctx, internal::NewClientContext(config));
  impl->ssl.emplace(ctx.release());
  impl->config = std::move(config);
  return HttpClient(std::move(impl));
}

Result<HttpResponse> HttpClient::Get(std::string_view url, const Headers& headers) const {
  return Send("GET", url, "", headers);
}

Result<HttpResponse> HttpClient::Post(std::string_view url, std::string body,
                                      std::string_view content_type,
                                      const Headers& headers) const {
  Headers h = headers;
  h.emplace("Content-Type", std::string(content_type));
  return Send("POST", url, std::move(body), h);
}

Result<HttpResponse> HttpClient::Send(std::string_view method, std::string_view url,
                                      std::string body, const Headers& headers) const {
  GMPKI_ASSIGN_OR_RETURN(Url u, ParseUrl(url));
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return Error(ErrorCode::kInvalidArgument, "bad method");
  const ClientConfig& cfg = impl_->config;

  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = RunOp(ioc, [&](auto handler) {
    resolver.async_resolve(u.host, u.port,
                           [&endpoints, handler](beast::error_code e,
                                                 tcp::resolver::results_type r) mutable {
                             endpoints = std::move(r);
                             handler(e);
                           });
  });
  if (ec) return Error(ErrorCode::kUnavailable, "resolve " + u.host + ": " + ec.message());

  http::request<http::string_body> req{verb, u.target, 11};
  bool is_ipv6 = u.host.find(':') != std::string::npos;
  req.set(http::field::host, (is_ipv6 ? "[" + u.host + "]" : u.host) + ":" + u.port);
  req.set(http::field::user_agent, "gmpki");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::move(body);
  req.keep_alive(false);
  req.prepare_payload();

  auto connect = [&](beast::tcp_stream& s) -> Status {
    s.expires_after(cfg.connect_timeout);
    beast::error_code e = RunOp(ioc, [&](auto handler) {
      s.async_connect(endpoints, [handler](beast::error_code e2, const tcp::endpoint&) mutable {
        handler(e2);
      });
    });
    if (e == beast::error::timeout) {
      return Error(ErrorCode::kTimeout, "connect " + u.host + ":" + u.port + " timed out");
    }
    if (!e) {
      beast::error_code nd;
      s.socket().set_option(tcp::no_delay(true), nd);  // see server.cc: no Nagle stalls
    }
    if (e) {
      return Error(ErrorCode::kUnavailable, "connect " + u.host + ":" + u.port + ": " +
                                                e.message());
    }
    return OkStatus();
  };

  if (!u.tls) {
    beast::tcp_stream stream(ioc);
    GMPKI_RETURN_IF_ERROR(connect(stream));
    return impl_->Exchange(ioc, stream, req);
  }

  beast::ssl_stream<beast::tcp_stream> stream(ioc, *impl_->ssl);
  SSL* ssl = stream.native_handle();
  beast::error_code addr_ec;
  asio::ip::make_address(u.host, addr_ec);
  bool is_ip = !addr_ec;
  if (!is_ip) SSL_set_tlsext_host_name(ssl, u.host.c_str());  // SNI carries DNS names only
  if (cfg.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str())
                   : X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), 0);
    if (ok != 1) return Error(ErrorCode::kInvalidArgument, "cannot check host " + u.host);
  }
  GMPKI_RETURN_IF_ERROR(connect(beast::get_lowest_layer(stream)));
  beast::get_lowest_layer(stream).expires_after(cfg.timeout);
  ec = RunOp(ioc, [&](auto handler) {
    stream.async_handshake(asio::ssl::stream_base::client, std::move(handler));
  });
  if (ec == beast::error::timeout) return Error(ErrorCode::kTimeout, "TLS handshake timed out");
  if (ec) {
    std::string detail = ec.message();
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    return Error(ErrorCode::kUnavailable, "TLS handshake with " + u.host + ": " + detail);
  }
  Result<HttpResponse> r = impl_->Exchange(ioc, stream, req);
  if (r.ok()) {
    // Best effort close_notify; the response is complete either way.
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    (void)RunOp(ioc, [&](auto handler) { stream.async_shutdown(std::move(handler)); });
  }
  return r;
}

}  // namespace gmpki::net
