// INTERNAL to gmpki_net (not a public header): OpenSSL ownership helpers and the TLS context
// builders shared by server.cc, client.cc and tls_pki.cc. OpenSSL types may appear here because
// no other component includes this file.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/bytes.h"
#include "base/result.h"
#include "net/client.h"
#include "net/http.h"
#include "net/server.h"

namespace gmpki::net::internal {

struct BioFree { void operator()(BIO* p) const { BIO_free_all(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Drains OpenSSL's thread-local error queue into one line ("" when empty).
std::string OpenSslErrors();

// Loads a private key PEM (PKCS#8 encrypted or not, or traditional). kConfigInvalid on failure.
Result<PkeyPtr> LoadPrivateKey(ByteView pem, ByteView passphrase);
// Loads every certificate of a PEM bundle, in order; fails when there is none.
Result<std::vector<X509Ptr>> LoadCertificates(std::string_view pem);

// The GM/T 0009-2012 §10 / GB/T 35276 default SM2 user ID. OpenSSL 3.0 verifies SM2 signatures
// with an empty ID unless told otherwise (STANDARDS-NOTES §8.1), so every certificate whose
// signature is SM2-with-SM3 gets this ID before chain verification.
inline constexpr std::string_view kSm2DefaultId = "1234567812345678";
void SetSm2DistinguishingId(X509* cert);

// Server and client TLS contexts: TLS 1.2 minimum, our chain verification callback installed
// (see server.h). Errors are kConfigInvalid.
Result<SslCtxPtr> NewServerContext(const TlsServerConfig& config);
Result<SslCtxPtr> NewClientContext(const ClientConfig& config);

// The verified client certificate of an established connection, or nullopt when none was
// presented or it did not verify.
std::optional<PeerIdentity> VerifiedPeer(const SSL* ssl);

}  // namespace gmpki::net::internal
