// HTTP(S) load generator for issuance endpoints: N workers, each with its own connection, POST
// request bodies taken in turn from a file of JSON lines, for a fixed number of requests or a
// fixed duration; prints requests/s, p50, p99 as text and as one JSON line.
//
// Connection modes:
//   keep-alive (default)  one persistent connection per worker (TLS handshake done before the
//                         clock starts), as a production RA or SDK pool would use.
//   --no-keepalive        a new TCP connection and full TLS handshake per request.
//   --net-client          gmpki's own net::HttpClient (one connection per request by design).
// The first two use OpenSSL directly on POSIX sockets: Boost.Beast stays inside src/net
// (CONVENTIONS rule 2), and src/net has no keep-alive client yet (see bench/README.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "net/client.h"

namespace {

using gmpki::bench::CpuSeconds;
using gmpki::bench::ReadTextFile;

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;
  bool tls = false;
  std::string ca_file, cert_file, key_file, pass_file;
  std::string bodies_file;
  int concurrency = 1;
  long requests = 1000;
  double duration_s = 0;  // > 0: run for this long instead of a request count
  bool keepalive = true;
  bool net_client = false;
  int expect_status = 200;
  std::string label = "load";
  std::string json_out;
  int server_pid = 0;  // > 0: also report that process's CPU time per request (/proc)
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// One HTTP/1.1 connection, plain or TLS, blocking.
class Conn {
 public:
  Conn(const Options& o, SSL_CTX* ctx) : o_(o), ctx_(ctx) {}
  ~Conn() { Close(); }

  bool Open() {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (::inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr) != 1) return false;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    if (ctx_) {
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, fd_);
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), o_.host.c_str());
      if (SSL_connect(ssl_) != 1) {
        ERR_print_errors_fp(stderr);
        return false;
      }
    }
    buf_.clear();
    return true;
  }
  void Close() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool is_open() const { return fd_ >= 0; }

  // Sends one POST and reads the response; returns the status (0 on a broken connection).
  // *server_closes is set when the server asked to close the connection.
  int Post(const std::string& body, bool keepalive, bool* server_closes) {
    std::string req = "POST " + o_.path + " HTTP/1.1\r\nHost: " + o_.host + ":" +
                      std::to_string(o_.port) +
                      "\r\nContent-Type: application/json\r\nAccept: application/json\r\n" +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                      (keepalive ? "" : "Connection: close\r\n") + "\r\n" + body;
    if (!WriteAll(req)) return 0;
    std::size_t hdr_end;
    while ((hdr_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) return 0;
    }
    std::string head = buf_.substr(0, hdr_end);
    buf_.erase(0, hdr_end + 4);
    int status = 0;
    if (head.size() > 12) status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    *server_closes = lower.find("\r\nconnection: close") != std::string::npos;
    if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
      std::size_t len = std::strtoul(lower.c_str() + p + 17, nullptr, 10);
      while (buf_.size() < len) {
        if (!ReadMore()) return 0;
      }
      body_ = buf_.substr(0, len);
      buf_.erase(0, len);
    } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      body_.clear();
      for (;;) {
        std::size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!ReadMore()) return 0;
        }
        std::size_t n = std::strtoul(buf_.c_str(), nullptr, 16);
        while (buf_.size() < eol + 2 + n + 2) {
          if (!ReadMore()) return 0;
        }
        body_.append(buf_, eol + 2, n);
        buf_.erase(0, eol + 2 + n + 2);
        if (n == 0) break;
      }
    } else {  // body until close
      while (ReadMore()) {
      }
      body_ = std::move(buf_);
      buf_.clear();
      *server_closes = true;
    }
    return status;
  }
  const std::string& last_body() const { return body_; }

 private:
  bool WriteAll(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      int n = ssl_ ? SSL_write(ssl_, s.data() + off, static_cast<int>(s.size() - off))
                   : static_cast<int>(::write(fd_, s.data() + off, s.size() - off));
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool ReadMore() {
    char tmp[16384];
    int n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp)
                 : static_cast<int>(::read(fd_, tmp, sizeof tmp));
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  const Options& o_;
  SSL_CTX* ctx_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_, body_;
};

SSL_CTX* MakeTlsContext(const Options& o, std::string* passphrase) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) return nullptr;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) return nullptr;
    // OpenSSL's default password callback uses the userdata as the passphrase.
    SSL_CTX_set_default_passwd_cb_userdata(ctx, passphrase->data());
    if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return nullptr;
    }
  }
  return ctx;
}

int Run(const Options& o) {
  std::vector<std::string> bodies;
  {
    std::istringstream in(ReadTextFile(o.bodies_file));
    for (std::string line; std::getline(in, line);) {
      if (!Trim(line).empty()) bodies.push_back(Trim(line));
    }
  }
  if (bodies.empty()) throw std::runtime_error("no request bodies in " + o.bodies_file);

  std::string passphrase = o.pass_file.empty() ? "" : Trim(ReadTextFile(o.pass_file));
  SSL_CTX* ctx = nullptr;
  std::optional<gmpki::net::HttpClient> net_client;
  std::string url = std::string(o.tls ? "https" : "http") + "://" + o.host + ":" +
                    std::to_string(o.port) + o.path;
  if (o.net_client) {
    gmpki::net::ClientConfig cc;
    if (!o.ca_file.empty()) cc.ca_bundle_pem = ReadTextFile(o.ca_file);
    if (!o.cert_file.empty()) {
      cc.client_cert_pem = ReadTextFile(o.cert_file);
      std::string k = ReadTextFile(o.key_file);
      cc.client_key_pem = gmpki::SecretBytes(gmpki::AsBytes(k));
      cc.client_key_passphrase = gmpki::SecretBytes(gmpki::AsBytes(passphrase));
    }
    auto c = gmpki::net::HttpClient::Create(std::move(cc));
    if (!c.ok()) throw std::runtime_error("net client: " + c.error().ToString());
    net_client.emplace(std::move(*c));
  } else if (o.tls) {
    ctx = MakeTlsContext(o, &passphrase);
    if (!ctx) {
      ERR_print_errors_fp(stderr);
      throw std::runtime_error("cannot set up TLS client context");
    }
  }

  std::atomic<long> next{0};
  std::atomic<long> errors{0};
  std::atomic<bool> setup_failed{false};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(o.concurrency));
  std::string first_error;
  std::mutex err_mu;
  Clock::time_point start, deadline;
  std::barrier sync(o.concurrency + 1);

  auto note_error = [&](const std::string& what) {
    errors++;
    std::lock_guard<std::mutex> l(err_mu);
    if (first_error.empty()) first_error = what.substr(0, 400);
  };
  // One request; returns true when it got the expected status.
  auto one = [&](Conn& conn, const std::string& body) -> bool {
    if (net_client) {
      auto r = net_client->Post(url, body);
      if (!r.ok()) return note_error(r.error().ToString()), false;
      if (r->status != o.expect_status) {
        return note_error("status " + std::to_string(r->status) + ": " + r->body), false;
      }
      return true;
    }
    if (!o.keepalive || !conn.is_open()) {
      if (!conn.Open()) return note_error("connect/handshake failed"), false;
    }
    bool closes = false;
    int st = conn.Post(body, o.keepalive, &closes);
    if (closes || st == 0 || !o.keepalive) conn.Close();
    if (st != o.expect_status) {
      return note_error("status " + std::to_string(st) + ": " + conn.last_body()), false;
    }
    return true;
  };

  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&, w] {
      Conn conn(o, ctx);
      // Warm-up: one request per worker, not counted; keep-alive connections stay open.
      if (!one(conn, bodies[static_cast<std::size_t>(w) % bodies.size()])) setup_failed = true;
      sync.arrive_and_wait();  // everyone connected
      sync.arrive_and_wait();  // clock started
      auto& mine = lat[static_cast<std::size_t>(w)];
      for (;;) {
        long i = next.fetch_add(1);
        if (o.duration_s > 0 ? Clock::now() >= deadline : i >= o.requests) break;
        auto t0 = Clock::now();
        bool ok = one(conn, bodies[static_cast<std::size_t>(i) % bodies.size()]);
        auto t1 = Clock::now();
        if (ok) mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  sync.arrive_and_wait();
  errors = 0;  // warm-up failures are reported through setup_failed
  double client_cpu0 = CpuSeconds(0), server_cpu0 = CpuSeconds(o.server_pid);
  start = Clock::now();
  deadline = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.duration_s));
  sync.arrive_and_wait();
  for (auto& t : workers) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double client_cpu = CpuSeconds(0) - client_cpu0;
  double server_cpu = o.server_pid > 0 ? CpuSeconds(o.server_pid) - server_cpu0 : 0;
  if (ctx) SSL_CTX_free(ctx);

  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::string mode = o.net_client ? "net-client" : (o.keepalive ? "keep-alive" : "new-conn");
  const std::size_t ok = all.size();
  double n = ok == 0 ? 1.0 : static_cast<double>(ok);
  nlohmann::json j = gmpki::bench::LatencySummary(std::move(all));
  j["label"] = o.label;
  j["mode"] = mode;
  j["concurrency"] = o.concurrency;
  j["errors"] = errors.load();
  j["seconds"] = secs;
  j["per_s"] = secs > 0 ? static_cast<double>(ok) / secs : 0.0;
  j["client_cpu_us"] = client_cpu * 1e6 / n;  // per successful request
  if (o.server_pid > 0) j["server_cpu_us"] = server_cpu * 1e6 / n;
  if (!first_error.empty()) j["first_error"] = first_error;
  std::fprintf(stderr,
               "%-28s %-10s c=%-3d ok=%-6zu err=%-4ld %8.1f/s  p50 %7.2f ms  p99 %7.2f ms\n",
               o.label.c_str(), mode.c_str(), o.concurrency, ok, errors.load(),
               j["per_s"].get<double>(), j["p50_ms"].get<double>(), j["p99_ms"].get<double>());
  if (!first_error.empty()) std::fprintf(stderr, "  first error: %s\n", first_error.c_str());
  std::cout << j.dump() << "\n";
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out, std::ios::app);
    out << j.dump() << "\n";
  }
  return setup_failed || ok == 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_http_load: concurrent POST load against an issuance endpoint"};
  Options o;
  app.add_option("--host", o.host, "IPv4 address of the server");
  app.add_option("--port", o.port, "Server port")->required();
  app.add_option("--path", o.path, "Request path, e.g. /api/v1/cas/ministry-ca/certificates")
      ->required();
  app.add_flag("--tls", o.tls, "Use HTTPS");
  app.add_option("--ca", o.ca_file, "Server trust anchor (PEM)");
  app.add_option("--cert", o.cert_file, "Client certificate chain (PEM) for mutual TLS");
  app.add_option("--key", o.key_file, "Client key (PEM, may be encrypted PKCS#8)");
  app.add_option("--pass-file", o.pass_file, "File holding the client key's passphrase");
  app.add_option("--bodies", o.bodies_file, "Request bodies, one JSON document per line")
      ->required();
  app.add_option("-c,--concurrency", o.concurrency, "Concurrent workers/connections")
      ->check(CLI::Range(1, 1024));
  app.add_option("-n,--requests", o.requests, "Requests to send (after one warm-up each)");
  app.add_option("--duration", o.duration_s, "Seconds to run instead of a request count");
  bool no_keepalive = false;
  app.add_flag("--no-keepalive", no_keepalive, "New connection (and TLS handshake) per request");
  app.add_flag("--net-client", o.net_client, "Use gmpki net::HttpClient (connection per request)");
  app.add_option("--expect", o.expect_status, "HTTP status counted as success");
  app.add_option("--label", o.label, "Name printed with the results");
  app.add_option("--json-out", o.json_out, "Append the JSON result line to this file");
  app.add_option("--server-pid", o.server_pid, "Also report this process's CPU per request");
  CLI11_PARSE(app, argc, argv);
  o.keepalive = !no_keepalive;
  try {
    return Run(o);
  } catch (const std::exception& e) {
    std::cerr << "bench_http_load: " << e.what() << "\n";
    return 2;
  }
}
