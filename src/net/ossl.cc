#include "net/ossl.h"

#include <cctype>
#include <cstring>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/log.h"

namespace gmpki::net::internal {
namespace {

int PassphraseCallback(char* buf, int size, int /*rwflag*/, void* u) {
  auto* pass = static_cast<const ByteView*>(u);
  if (pass == nullptr || pass->size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  // RFC 2253/4514 order (most specific first), UTF-8 kept as-is rather than escaped as \XX.
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Replaces X509_verify_cert for both contexts. Must be set on the presented certificates
// themselves: the ID is a property of the X509 object that X509_verify reads.
int VerifyWithSm2Ids(X509_STORE_CTX* ctx, void* /*arg*/) {
  SetSm2DistinguishingId(X509_STORE_CTX_get0_cert(ctx));
  STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(ctx);
  for (int i = 0; untrusted != nullptr && i < sk_X509_num(untrusted); ++i) {
    SetSm2DistinguishingId(sk_X509_value(untrusted, i));
  }
  return X509_verify_cert(ctx);
}

Status AddTrustAnchors(SSL_CTX* ctx, std::string_view pem, bool set_client_ca_list) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, LoadCertificates(pem));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (X509Ptr& c : certs) {
    // Anchors set before any thread uses the context; intermediates placed in the trust
    // bundle have their SM2 signatures checked like presented ones.
    SetSm2DistinguishingId(c.get());
    if (X509_STORE_add_cert(store, c.get()) != 1) {
      return Error(ErrorCode::kConfigInvalid, "cannot add trust anchor: " + OpenSslErrors());
    }
    if (set_client_ca_list && SSL_CTX_add_client_CA(ctx, c.get()) != 1) {
      return Error(ErrorCode::kConfigInvalid, "cannot add client CA name: " + OpenSslErrors());
    }
  }
  return OkStatus();
}

Status CommonSetup(SSL_CTX* ctx) {
  // TLS 1.2 minimum (CC-FTP); TLS 1.3 is negotiated whenever the peer offers it.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return Error(ErrorCode::kConfigInvalid, "cannot set TLS minimum version");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // TLS 1.2 suites limited to forward-secret AEADs.
  if (SSL_CTX_set_cipher_list(ctx,
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305") != 1) {
    return Error(ErrorCode::kConfigInvalid, "cannot set cipher list: " + OpenSslErrors());
  }
  SSL_CTX_set_cert_verify_callback(ctx, &VerifyWithSm2Ids, nullptr);
  return OkStatus();
}

Status UseChainAndKey(SSL_CTX* ctx, std::string_view chain_pem, ByteView key_pem,
                      ByteView passphrase) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, LoadCertificates(chain_pem));
  GMPKI_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivateKey(key_pem, passphrase));
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) {
    return Error(ErrorCode::kConfigInvalid, "certificate rejected: " + OpenSslErrors());
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      return Error(ErrorCode::kConfigInvalid, "chain certificate rejected: " + OpenSslErrors());
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return Error(ErrorCode::kConfigInvalid,
                 "private key does not match the certificate: " + OpenSslErrors());
  }
  return OkStatus();
}

}  // namespace

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<PkeyPtr> LoadPrivateKey(ByteView pem, ByteView passphrase) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &PassphraseCallback, &passphrase));
  if (!key) {
    return Error(ErrorCode::kConfigInvalid,
                 "cannot read private key (wrong passphrase or not PEM): " + OpenSslErrors());
  }
  return key;
}

Result<std::vector<X509Ptr>> LoadCertificates(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  std::vector<X509Ptr> out;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (out.empty()) return Error(ErrorCode::kConfigInvalid, "no PEM certificate found");
  return out;
}

void SetSm2DistinguishingId(X509* cert) {
  // Only SM2-signed certificates: an ID on an ECDSA certificate would make OpenSSL try to pass
  // it to the EC signature implementation.
  if (cert == nullptr || X509_get_signature_nid(cert) != NID_SM2_with_SM3) return;
  ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
  if (id == nullptr) return;
  if (ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(kSm2DefaultId.data()),
                            static_cast<int>(kSm2DefaultId.size())) != 1) {
    ASN1_OCTET_STRING_free(id);
    return;
  }
  X509_set0_distinguishing_id(cert, id);  // takes ownership, frees a previous one
}

Result<SslCtxPtr> NewServerContext(const TlsServerConfig& config) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Error(ErrorCode::kInternal, "SSL_CTX_new failed: " + OpenSslErrors());
  GMPKI_RETURN_IF_ERROR(CommonSetup(ctx.get()));
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  GMPKI_RETURN_IF_ERROR(UseChainAndKey(ctx.get(), config.cert_chain_pem, config.key_pem.view(),
                                       config.key_passphrase.view()));
  // Needed for session resumption to work together with client certificates.
  static const unsigned char kSessionContext[] = "gmpki";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  if (config.client_cert_mode != ClientCertMode::kNone) {
    if (config.client_ca_pem.empty()) {
      return Error(ErrorCode::kConfigInvalid, "client certificates requested but no client CA");
    }
    GMPKI_RETURN_IF_ERROR(AddTrustAnchors(ctx.get(), config.client_ca_pem, true));
    int mode = SSL_VERIFY_PEER;
    if (config.client_cert_mode == ClientCertMode::kRequired) {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx.get(), mode, nullptr);
    SSL_CTX_set_verify_depth(ctx.get(), 8);
  }
  return ctx;
}

Result<SslCtxPtr> NewClientContext(const ClientConfig& config) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Error(ErrorCode::kInternal, "SSL_CTX_new failed: " + OpenSslErrors());
  GMPKI_RETURN_IF_ERROR(CommonSetup(ctx.get()));
  if (config.ca_bundle_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return Error(ErrorCode::kConfigInvalid, "no default trust store: " + OpenSslErrors());
    }
  } else {
    GMPKI_RETURN_IF_ERROR(AddTrustAnchors(ctx.get(), config.ca_bundle_pem, false));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!config.client_cert_pem.empty()) {
    GMPKI_RETURN_IF_ERROR(UseChainAndKey(ctx.get(), config.client_cert_pem,
                                         config.client_key_pem.view(),
                                         config.client_key_passphrase.view()));
  }
  return ctx;
}

std::optional<PeerIdentity> VerifiedPeer(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerIdentity p;
  p.subject = NameToString(X509_get_subject_name(cert));
  p.issuer = NameToString(X509_get_issuer_name(cert));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      p.serial_hex = hex;
      for (char& c : p.serial_hex) c = static_cast<char>(std::tolower(c));
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) return std::nullopt;
  p.der.resize(static_cast<std::size_t>(len));
  unsigned char* out = p.der.data();
  i2d_X509(cert, &out);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(p.der.data(), p.der.size(), md, &md_len, EVP_sha256(), nullptr) == 1) {
    p.sha256_fingerprint = HexEncode(ByteView(md, md_len));
  }
  if (EVP_Digest(p.der.data(), p.der.size(), md, &md_len, EVP_sm3(), nullptr) == 1) {
    p.sm3_fingerprint = HexEncode(ByteView(md, md_len));
  }
  return p;
}

}  // namespace gmpki::net::internal
