#include "net/tls_identity.h"

#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace gmpki::net {
namespace {
struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };

int PassCb(char* buf, int size, int, void* u) {
  auto* p = static_cast<ByteView*>(u);
  if (p->size() > static_cast<std::size_t>(size)) return -1;
  std::copy(p->begin(), p->end(), buf);
  return static_cast<int>(p->size());
}
}  // namespace

Status CheckKeyMatchesCertificate(std::string_view cert_pem, const SecretBytes& key_pem,
                                  ByteView passphrase) {
  std::unique_ptr<BIO, BioFree> cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!cert) return Error(ErrorCode::kInvalidArgument, "the credential's certificate cannot be read");
  std::unique_ptr<BIO, BioFree> kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  ByteView pass = passphrase;
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, PassCb, &pass));
  if (!key) {
    return Error(ErrorCode::kInvalidArgument,
                 "the credential's private key cannot be read (wrong passphrase?)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Error(ErrorCode::kBadSignature, "the private key does not match the certificate");
  }
  return OkStatus();
}

}  // namespace gmpki::net
