// The Beast/Asio HTTP(S) server. One of the two translation units that include Beast (with
// client.cc), to keep compile times bounded.
#include "net/server.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "base/log.h"
#include "net/ossl.h"
#include "net/pipeline.h"

namespace gmpki::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kHeaderLimit = 16 * 1024;
// After a 413 the unread rest of the body is drained (bounded) so that the client receives the
// response instead of a connection reset.
constexpr std::size_t kDrainLimit = 8u << 20;
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr auto kShutdownGrace = std::chrono::seconds(10);

// The server's state, shared with its sessions (which cannot name the private HttpServer::Impl).
struct ServerCore {
  ServerConfig config;
  internal::Pipeline pipeline;
  std::unique_ptr<asio::io_context> ioc;  // destroyed by Stop(), closing idle connections
  std::optional<asio::ssl::context> ssl;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;
  std::mutex mu;  // guards in_flight for the condition variable
  std::condition_variable idle;
  int in_flight = 0;

  ServerCore(ServerConfig c, Router router)
      : config(std::move(c)),
        pipeline(std::move(router), config.metrics, config.max_body_bytes, config.name),
        ioc(std::make_unique<asio::io_context>(std::max(1, config.threads))) {}

  void Begin() {
    std::lock_guard lock(mu);
    ++in_flight;
  }
  void End() {
    std::lock_guard lock(mu);
    if (--in_flight == 0) idle.notify_all();
  }
  void Accept();
};

template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(tcp::socket&& socket, ServerCore* server)
      : stream_(MakeStream(std::move(socket), server)), server_(server) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void Run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::Start, this->shared_from_this()));
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ServerCore* server) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server->ssl);
    } else {
      return Stream(std::move(socket));
    }
  }

  auto& Tcp() { return beast::get_lowest_layer(stream_); }

  void Start() {
    if constexpr (kTls) {
      Tcp().expires_after(server_->config.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake,
                                                        this->shared_from_this()));
    } else {
      Read();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      // A refused client certificate ends here (CC-FIA); log without the peer's data.
      log::Info("{} {} TLS handshake failed: {}", server_->config.name, remote_, ec.message());
      return;
    }
    if constexpr (kTls) peer_ = internal::VerifiedPeer(stream_.native_handle());
    Read();
  }

  void Read() {
    if (server_->stopping) return Close();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_->config.max_body_bytes);
    Tcp().expires_after(server_->config.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  HttpRequest Convert(const http::request<http::string_body>& msg) {
    HttpRequest r;
    r.method = std::string(msg.method_string());
    r.target = std::string(msg.target());
    r.remote_address = remote_;
    r.tls = kTls;
    r.peer = peer_;
    for (const auto& field : msg) {
      std::string name(field.name_string());
      auto [it, inserted] = r.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    return r;
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::body_limit) {
      HttpRequest r = Convert(parser_->get());
      Status s = ParseTarget(r.target, &r.path, &r.query);
      (void)s;  // only the path is used, for the problem's "instance"
      server_->Begin();
      HttpResponse resp = server_->pipeline.Reject(
          r, Error(ErrorCode::kTooLarge, "request body exceeds " +
                                             std::to_string(server_->config.max_body_bytes) +
                                             " bytes"));
      return Write(std::move(resp), false, true);
    }
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::eof) {
      return Close();
    }
    if (ec) {
      // Malformed HTTP: answer 400 once, then close (the stream position is unknown).
      if (ec.category() == http::make_error_code(http::error::bad_target).category() ||
          ec == http::error::header_limit) {
        HttpRequest r;
        r.remote_address = remote_;
        r.method = "-";
        server_->Begin();
        HttpResponse resp =
            server_->pipeline.Reject(r, Error(ErrorCode::kMalformedInput, ec.message()));
        return Write(std::move(resp), false, false);
      }
      return Close();
    }

    server_->Begin();
    auto msg = parser_->release();
    HttpRequest r = Convert(msg);
    r.body = std::move(msg.body());
    bool keep_alive = msg.keep_alive() && !server_->stopping;
    HttpResponse resp;
    Status parsed = ParseTarget(r.target, &r.path, &r.query);
    if (!parsed.ok()) {
      resp = server_->pipeline.Reject(r, parsed.error());
    } else {
      resp = server_->pipeline.Handle(r);
    }
    if (msg.method() == http::verb::head) resp.body.clear();
    Write(std::move(resp), keep_alive, false, msg.version());
  }

  void Write(HttpResponse resp, bool keep_alive, bool drain, unsigned version = 11) {
    res_.emplace();
    res_->version(version);
    res_->result(static_cast<unsigned>(resp.status));
    for (const auto& [name, value] : resp.headers) res_->set(name, value);
    res_->set(http::field::content_type, resp.content_type);
    // API answers are never cached, unless the handler says otherwise (RFC 5019 §6: OCSP
    // responses carry max-age and friends so HTTP caches can serve them).
    if (res_->find(http::field::cache_control) == res_->end()) {
      res_->set(http::field::cache_control, "no-store");
    }
    res_->body() = std::move(resp.body);
    res_->keep_alive(keep_alive);
    res_->prepare_payload();
    Tcp().expires_after(server_->config.write_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, this->shared_from_this(),
                                                keep_alive, drain));
  }

  void OnWrite(bool keep_alive, bool drain, beast::error_code ec, std::size_t) {
    server_->End();
    res_.reset();
    if (ec) return Close();
    if (drain) return Drain(0);
    if (!keep_alive) return Close();
    Read();
  }

  void Drain(std::size_t total) {
    if (total == 0) {
      if constexpr (!kTls) {
        beast::error_code ignored;
        Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      }
      Tcp().expires_after(kDrainTime);
    }
    drain_buf_.resize(16 * 1024);
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = this->shared_from_this(), total](beast::error_code ec,
                                                                     std::size_t n) {
                              if (ec || total + n > kDrainLimit) return self->Close();
                              self->Drain(total + n);
                            });
  }

  void Close() {
    if constexpr (kTls) {
      Tcp().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Tcp().socket().close(ignored);
      });
    } else {
      beast::error_code ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Tcp().socket().close(ignored);
    }
  }

  Stream stream_;
  ServerCore* server_;
  std::string remote_;
  std::optional<PeerIdentity> peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  std::vector<char> drain_buf_;
};

void ServerCore::Accept() {
  acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) return;
      log::Warn("{} accept failed: {}", config.name, ec.message());
    } else {
      // Small request/response exchanges: do not let Nagle's algorithm hold the last segment
      // back waiting for a delayed ACK (a 40 ms stall per exchange otherwise).
      beast::error_code nd;
      s.set_option(tcp::no_delay(true), nd);
      if (ssl) {
        std::make_shared<Session<true>>(std::move(s), this)->Run();
      } else {
        std::make_shared<Session<false>>(std::move(s), this)->Run();
      }
    }
    if (!stopping) Accept();
  });
}

}  // namespace

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(ServerConfig config, Router router)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(router))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::AddHealthCheck(std::string name, HealthCheck check) {
  impl_->pipeline.AddHealthCheck(std::move(name), std::move(check));
}

Status HttpServer::Start() {
  Impl& s = *impl_;
  if (s.started) return Error(ErrorCode::kFailedPrecondition, "server already started");
  if (s.config.threads < 1 || s.config.threads > 256) {
    return Error(ErrorCode::kConfigInvalid, "threads must be 1..256");
  }
  if (s.config.tls) {
    GMPKI_ASSIGN_OR_RETURN(internal::SslCtxPtr ctx, internal::NewServerContext(*s.config.tls));
    s.ssl.emplace(ctx.release());  // asio::ssl::context takes ownership of the SSL_CTX
  }
  beast::error_code ec;
  std::string host = s.config.host == "localhost" ? "127.0.0.1" : s.config.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Error(ErrorCode::kConfigInvalid, "bad listen address '" + s.config.host + "'");
  tcp::endpoint endpoint(address, s.config.port);
  tcp::acceptor acceptor(*s.ioc);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kIoError, "cannot listen on " + s.config.host + ":" +
                                          std::to_string(s.config.port) + ": " + ec.message());
  }
  s.port = acceptor.local_endpoint().port();
  s.acceptor.emplace(std::move(acceptor));
  s.started = true;
  s.Accept();
  for (int i = 0; i < s.config.threads; ++i) {
    s.threads.emplace_back([&s] {
      // Handlers never throw (Router contains them); anything else is a bug to log, and the
      // thread keeps serving.
      for (;;) {
        try {
          s.ioc->run();
          return;
        } catch (const std::exception& e) {
          log::Error("{} I/O thread caught: {}", s.config.name, e.what());
        }
      }
    });
  }
  log::Info("{} listening on {}:{} ({}, {} threads)", s.config.name, host, s.port.load(),
            s.ssl ? "https" : "http", s.config.threads);
  return OkStatus();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  asio::post(*s.ioc, [&s] {
    beast::error_code ignored;
    s.acceptor->close(ignored);
  });
  {
    // Let requests already being handled finish and their responses go out; idle keep-alive
    // connections are simply closed when the context stops.
    std::unique_lock lock(s.mu);
    s.idle.wait_for(lock, kShutdownGrace, [&s] { return s.in_flight == 0; });
  }
  s.ioc->stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
  // No thread runs the context any more: close the listening socket explicitly (the posted
  // close may not have run, and destroying an acceptor with a pending accept on a stopped
  // context does not close its descriptor at once), then destroy the pending operations,
  // which closes idle keep-alive connections.
  if (s.acceptor) {
    beast::error_code ignored;
    s.acceptor->cancel(ignored);
    s.acceptor->close(ignored);
    if (s.acceptor->is_open()) ::close(s.acceptor->release(ignored));
  }
  s.acceptor.reset();
  s.ioc.reset();
  log::Info("{} stopped", s.config.name);
}

std::uint16_t HttpServer::BoundPort() const { return impl_->port; }

MetricsRegistry& HttpServer::metrics() { return impl_->pipeline.metrics(); }

HttpResponse HttpServer::Handle(HttpRequest request) {
  if (request.path.empty()) {
    Status s = ParseTarget(request.target, &request.path, &request.query);
    if (!s.ok()) return impl_->pipeline.Reject(request, s.error());
  }
  return impl_->pipeline.Handle(request);
}

}  // namespace gmpki::net
