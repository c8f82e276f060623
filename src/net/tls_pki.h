// Operator and component TLS credentials of a deployment: an ECDSA P-256 "TLS CA" and the server
// and client certificates it issues (CC-FTP, CC-FIA). ECDSA P-256 rather than SM2 because
// OpenSSL 3.0 cannot negotiate SM2 in TLS (no RFC 8998, no TLCP; STANDARDS-NOTES §8.1).
// OpenSSL lives in tls_pki.cc only. All PEM outputs are text; private keys are SecretBytes.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"

namespace gmpki::net {

// A fresh ECDSA P-256 key as PKCS#8 PEM. With a non-empty passphrase the PEM is
// "ENCRYPTED PRIVATE KEY" (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC); else "PRIVATE KEY".
Result<SecretBytes> GenerateTlsKey(ByteView passphrase = {});

// The SubjectPublicKeyInfo PEM ("PUBLIC KEY") of a private key PEM.
Result<std::string> TlsPublicKeyPem(const SecretBytes& key_pem, ByteView passphrase = {});

struct TlsCertSpec {
  std::string subject_dn;                 // RFC 4514 order: "CN=alice,OU=security-admin,O=gmpki"
  std::vector<std::string> dns_names;     // subjectAltName dNSName (server certificates)
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress, "127.0.0.1" or "::1"
  std::chrono::days validity{825};
  TimePoint not_before{};  // the epoch (default) means "now minus 5 minutes"
};

// The issuing TLS CA: its certificate and key.
struct TlsIssuer {
  std::string cert_pem;
  SecretBytes key_pem;
  SecretBytes key_passphrase;
};

// A self-signed TLS CA certificate for `key_pem`: ecdsa-with-SHA256, basicConstraints
// CA:TRUE (critical), keyUsage keyCertSign|cRLSign (critical), subject key identifier; random
// 64+ bit serial. The spec's validity defaults to 825 days; CreateTlsCa uses 10 years.
Result<std::string> CreateTlsCaCertificate(const SecretBytes& key_pem, ByteView passphrase,
                                           const TlsCertSpec& spec);
// Generates the key and the 10-year certificate in one step.
Result<TlsIssuer> CreateTlsCa(std::string_view subject_dn, ByteView passphrase = {});

// Certificates for `subject_public_key_pem` (a "PUBLIC KEY" PEM) signed by `issuer`:
// keyUsage digitalSignature (critical), basicConstraints CA:FALSE, authority/subject key ids,
// extendedKeyUsage serverAuth (server, needs at least one DNS name or IP) or clientAuth
// (client). Fail with kInvalidArgument on an unparsable DN, SAN entry or key.
Result<std::string> IssueTlsServerCertificate(const TlsIssuer& issuer,
                                              std::string_view subject_public_key_pem,
                                              const TlsCertSpec& spec);
Result<std::string> IssueTlsClientCertificate(const TlsIssuer& issuer,
                                              std::string_view subject_public_key_pem,
                                              const TlsCertSpec& spec);

// A certificate (PEM) and its new, unencrypted PKCS#8 key.
struct TlsCredentials {
  std::string cert_pem;
  SecretBytes key_pem;
};
Result<TlsCredentials> IssueTlsServerCredentials(const TlsIssuer& issuer, const TlsCertSpec& spec);
Result<TlsCredentials> IssueTlsClientCredentials(const TlsIssuer& issuer, const TlsCertSpec& spec);

}  // namespace gmpki::net
