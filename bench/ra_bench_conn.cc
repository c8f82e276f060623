#include "ra_bench_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gmpki::bench {
namespace {

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace

TlsClient::TlsClient(const std::string& ca_pem_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + OpenSslError());
  ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(ctx, ca_pem_file.c_str(), nullptr) != 1) {
    throw std::runtime_error("cannot load " + ca_pem_file + ": " + OpenSslError());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
}

TlsClient::~TlsClient() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

ClientIdentity::ClientIdentity(const std::string& cert_pem, const std::string& key_pem,
                               const std::string& passphrase) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  cert_ = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  key_ = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, const_cast<char*>(passphrase.c_str()));
  BIO_free(kb);
  if (!cert_ || !key_) {
    X509_free(static_cast<X509*>(cert_));
    EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
    throw std::runtime_error("cannot load a client certificate or key: " + OpenSslError());
  }
}

ClientIdentity::~ClientIdentity() {
  X509_free(static_cast<X509*>(cert_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

Conn::Conn(const TlsClient& tls, const ClientIdentity& id, int port)
    : tls_(tls), id_(id), port_(port) {}

Conn::~Conn() { Close(); }

bool Conn::Open(std::string* error) {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return *error = "socket() failed", false;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port_));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    Close();
    return *error = "connect() failed", false;
  }
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(tls_.ctx()));
  ssl_ = ssl;
  // Each registration system presents its own certificate on its own
  // connection.
  if (SSL_use_certificate(ssl, static_cast<X509*>(id_.cert())) != 1 ||
      SSL_use_PrivateKey(ssl, static_cast<EVP_PKEY*>(id_.key())) != 1) {
    *error = "client certificate: " + OpenSslError();
    Close();
    return false;
  }
  SSL_set_fd(ssl, fd_);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  if (SSL_connect(ssl) != 1) {
    *error = "TLS handshake: " + OpenSslError();
    Close();
    return false;
  }
  buf_.clear();
  ++opens_;
  return true;
}

void Conn::Close() {
  if (ssl_) {
    SSL_shutdown(static_cast<SSL*>(ssl_));
    SSL_free(static_cast<SSL*>(ssl_));
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int Conn::Request(const std::string& method, const std::string& path, const std::string& body) {
  if (!is_open()) return 0;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                    "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!WriteAll(req)) return Close(), 0;
  std::size_t hdr_end;
  while ((hdr_end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore()) return Close(), 0;
  }
  std::string head = buf_.substr(0, hdr_end);
  buf_.erase(0, hdr_end + 4);
  int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  auto p = lower.find("\r\ncontent-length:");
  if (p == std::string::npos) return Close(), 0;  // the server always sends a length
  std::size_t len = std::strtoul(lower.c_str() + p + 17, nullptr, 10);
  while (buf_.size() < len) {
    if (!ReadMore()) return Close(), 0;
  }
  body_ = buf_.substr(0, len);
  buf_.erase(0, len);
  if (lower.find("\r\nconnection: close") != std::string::npos) Close();
  return status;
}

bool Conn::WriteAll(const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    int n = SSL_write(static_cast<SSL*>(ssl_), s.data() + off, static_cast<int>(s.size() - off));
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool Conn::ReadMore() {
  char tmp[16384];
  int n = SSL_read(static_cast<SSL*>(ssl_), tmp, sizeof tmp);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

}  // namespace gmpki::bench
