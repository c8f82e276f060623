#include "net/tls_pki.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "net/ossl.h"

namespace gmpki::net {
namespace {

using internal::BioPtr;
using internal::OpenSslErrors;
using internal::PkeyPtr;
using internal::X509Ptr;

struct NameFree { void operator()(X509_NAME* p) const { X509_NAME_free(p); } };
using NamePtr = std::unique_ptr<X509_NAME, NameFree>;

Error Fail(ErrorCode code, std::string what) {
  std::string errors = OpenSslErrors();
  if (!errors.empty()) what += ": " + errors;
  return Error(code, std::move(what));
}

Result<SecretBytes> BioToSecret(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0) return Fail(ErrorCode::kInternal, "empty PEM output");
  SecretBytes out(ByteView(reinterpret_cast<const std::uint8_t*>(data),
                           static_cast<std::size_t>(n)));
  // The memory BIO's buffer held the key too: wipe it before BIO_free releases it.
  SecureZero(data, static_cast<std::size_t>(n));
  return out;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Parses an RFC 4514 string ("CN=alice,OU=security-admin,O=gmpki"; '\' escapes the next
// character) into an X509_NAME. RFC 4514 §2.1 lists RDNs most-specific first, the reverse of
// the ASN.1 order, so the RDNs are added back to front.
Result<NamePtr> ParseDn(std::string_view dn) {
  std::vector<std::pair<std::string, std::string>> rdns;
  std::string cur;
  bool escaped = false;
  std::vector<std::string> parts;
  for (char c : dn) {
    if (escaped) {
      cur += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ',') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (escaped) return Error(ErrorCode::kInvalidArgument, "DN ends with a backslash");
  parts.push_back(cur);
  for (std::string& part : parts) {
    std::size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
      return Error(ErrorCode::kInvalidArgument, "bad RDN '" + part + "' in DN");
    }
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(' '));
      s.erase(s.find_last_not_of(' ') + 1);
      return s;
    };
    rdns.emplace_back(trim(part.substr(0, eq)), trim(part.substr(eq + 1)));
  }
  NamePtr name(X509_NAME_new());
  if (!name) return Fail(ErrorCode::kInternal, "X509_NAME_new");
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (X509_NAME_add_entry_by_txt(name.get(), it->first.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(it->second.c_str()),
                                   -1, -1, 0) != 1) {
      return Fail(ErrorCode::kInvalidArgument, "bad DN attribute '" + it->first + "'");
    }
  }
  return name;
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, std::string("bad extension ") + OBJ_nid2sn(nid) +
                                                 " = " + value);
  }
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return Fail(ErrorCode::kInternal, "X509_add_ext");
  return OkStatus();
}

Result<PkeyPtr> LoadPublicKey(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Fail(ErrorCode::kInvalidArgument, "cannot read subject public key PEM");
  return key;
}

enum class Kind { kCa, kServer, kClient };

// Builds and signs one certificate. For kCa the issuer is the subject itself.
Result<std::string> MakeCertificate(Kind kind, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                                    X509* issuer_cert, const TlsCertSpec& spec) {
  GMPKI_ASSIGN_OR_RETURN(NamePtr subject, ParseDn(spec.subject_dn));
  if (kind == Kind::kServer && spec.dns_names.empty() && spec.ip_addresses.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a server certificate needs a DNS name or IP");
  }
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return Fail(ErrorCode::kInternal, "X509");

  // RFC 5280 §4.1.2.2: positive, at most 20 octets. 16 random octets with the top bit cleared
  // give 127 bits of entropy (CA/B Forum asks for 64+).
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Fail(ErrorCode::kCryptoFailure, "RAND");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x01);
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  ASN1_INTEGER* sn = bn ? BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) : nullptr;
  BN_free(bn);
  if (sn == nullptr) return Fail(ErrorCode::kInternal, "serial");

  std::int64_t not_before = spec.not_before == TimePoint{}
                                ? ToUnixSeconds(std::chrono::system_clock::now()) - 300
                                : ToUnixSeconds(spec.not_before);
  std::int64_t not_after =
      not_before + std::chrono::duration_cast<std::chrono::seconds>(spec.validity).count();
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)) == nullptr) {
    return Fail(ErrorCode::kInternal, "validity");
  }
  X509_set_subject_name(cert.get(), subject.get());
  X509_set_issuer_name(cert.get(),
                       issuer_cert ? X509_get_subject_name(issuer_cert) : subject.get());
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return Fail(ErrorCode::kInternal, "pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : cert.get(), cert.get(), nullptr, nullptr, 0);
  GMPKI_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (kind == Kind::kCa) {
    GMPKI_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
    GMPKI_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    GMPKI_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier,
                                       "keyid:always"));
    GMPKI_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    GMPKI_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
    GMPKI_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage,
                                       kind == Kind::kServer ? "serverAuth" : "clientAuth"));
    std::string san;
    for (const std::string& d : spec.dns_names) {
      if (d.empty() || d.find_first_of(",:") != std::string::npos) {
        return Error(ErrorCode::kInvalidArgument, "bad DNS name '" + d + "'");
      }
      san += (san.empty() ? "DNS:" : ",DNS:") + d;
    }
    for (const std::string& ip : spec.ip_addresses) {
      if (ip.empty() || ip.find(',') != std::string::npos) {
        return Error(ErrorCode::kInvalidArgument, "bad IP address '" + ip + "'");
      }
      san += (san.empty() ? "IP:" : ",IP:") + ip;
    }
    if (!san.empty()) {
      GMPKI_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name, san));
    }
  }
  // ecdsa-with-SHA256 (RFC 5758 §3.2).
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return Fail(ErrorCode::kCryptoFailure, "certificate signing failed");
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) {
    return Fail(ErrorCode::kInternal, "PEM_write_bio_X509");
  }
  return BioToString(out.get());
}

Result<std::string> Issue(Kind kind, const TlsIssuer& issuer, std::string_view subject_pub,
                          const TlsCertSpec& spec) {
  GMPKI_ASSIGN_OR_RETURN(PkeyPtr issuer_key, internal::LoadPrivateKey(
                                                 issuer.key_pem.view(),
                                                 issuer.key_passphrase.view()));
  GMPKI_ASSIGN_OR_RETURN(std::vector<X509Ptr> issuer_certs,
                         internal::LoadCertificates(issuer.cert_pem));
  if (X509_check_private_key(issuer_certs[0].get(), issuer_key.get()) != 1) {
    return Fail(ErrorCode::kInvalidArgument, "issuer key does not match issuer certificate");
  }
  GMPKI_ASSIGN_OR_RETURN(PkeyPtr subject_key, LoadPublicKey(subject_pub));
  return MakeCertificate(kind, subject_key.get(), issuer_key.get(), issuer_certs[0].get(), spec);
}

Result<TlsCredentials> IssueCredentials(Kind kind, const TlsIssuer& issuer,
                                        const TlsCertSpec& spec) {
  GMPKI_ASSIGN_OR_RETURN(SecretBytes key, GenerateTlsKey());
  GMPKI_ASSIGN_OR_RETURN(std::string pub, TlsPublicKeyPem(key));
  GMPKI_ASSIGN_OR_RETURN(std::string cert, Issue(kind, issuer, pub, spec));
  return TlsCredentials{std::move(cert), std::move(key)};
}

}  // namespace

Result<SecretBytes> GenerateTlsKey(ByteView passphrase) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Fail(ErrorCode::kCryptoFailure, "P-256 key generation failed");
  // A secure-memory BIO clears its buffers when they grow or are freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return Fail(ErrorCode::kInternal, "BIO_new");
  int ok;
  if (passphrase.empty()) {
    ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr);
  } else {
    // PBES2 (RFC 8018 §6.2) with AES-256-CBC; OpenSSL 3.0 uses PBKDF2-HMAC-SHA256 as the PRF.
    ok = PEM_write_bio_PKCS8PrivateKey(
        bio.get(), key.get(), EVP_aes_256_cbc(),
        const_cast<char*>(reinterpret_cast<const char*>(passphrase.data())),
        static_cast<int>(passphrase.size()), nullptr, nullptr);
  }
  if (ok != 1) return Fail(ErrorCode::kCryptoFailure, "cannot write PKCS#8 key");
  return BioToSecret(bio.get());
}

Result<std::string> TlsPublicKeyPem(const SecretBytes& key_pem, ByteView passphrase) {
  GMPKI_ASSIGN_OR_RETURN(PkeyPtr key, internal::LoadPrivateKey(key_pem.view(), passphrase));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return Fail(ErrorCode::kInternal, "PEM_write_bio_PUBKEY");
  }
  return BioToString(bio.get());
}

Result<std::string> CreateTlsCaCertificate(const SecretBytes& key_pem, ByteView passphrase,
                                           const TlsCertSpec& spec) {
  GMPKI_ASSIGN_OR_RETURN(PkeyPtr key, internal::LoadPrivateKey(key_pem.view(), passphrase));
  return MakeCertificate(Kind::kCa, key.get(), key.get(), nullptr, spec);
}

Result<TlsIssuer> CreateTlsCa(std::string_view subject_dn, ByteView passphrase) {
  GMPKI_ASSIGN_OR_RETURN(SecretBytes key, GenerateTlsKey(passphrase));
  TlsCertSpec spec;
  spec.subject_dn = std::string(subject_dn);
  spec.validity = std::chrono::days(3653);  // 10 years
  GMPKI_ASSIGN_OR_RETURN(std::string cert, CreateTlsCaCertificate(key, passphrase, spec));
  TlsIssuer issuer;
  issuer.cert_pem = std::move(cert);
  issuer.key_pem = std::move(key);
  issuer.key_passphrase = SecretBytes(passphrase);
  return issuer;
}

Result<std::string> IssueTlsServerCertificate(const TlsIssuer& issuer,
                                              std::string_view subject_public_key_pem,
                                              const TlsCertSpec& spec) {
  return Issue(Kind::kServer, issuer, subject_public_key_pem, spec);
}

Result<std::string> IssueTlsClientCertificate(const TlsIssuer& issuer,
                                              std::string_view subject_public_key_pem,
                                              const TlsCertSpec& spec) {
  return Issue(Kind::kClient, issuer, subject_public_key_pem, spec);
}

Result<TlsCredentials> IssueTlsServerCredentials(const TlsIssuer& issuer,
                                                 const TlsCertSpec& spec) {
  return IssueCredentials(Kind::kServer, issuer, spec);
}

Result<TlsCredentials> IssueTlsClientCredentials(const TlsIssuer& issuer,
                                                 const TlsCertSpec& spec) {
  return IssueCredentials(Kind::kClient, issuer, spec);
}

}  // namespace gmpki::net
