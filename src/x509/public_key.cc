#include "x509/public_key.h"

#include "x509/certificate.h"
#include "x509/der.h"
#include "x509/pem.h"
#include "x509/signed_object.h"

namespace gmpki::x509 {

namespace {
constexpr std::string_view kPemPublicKey = "PUBLIC KEY";
}  // namespace

std::string Sm2PublicKeyPem(const crypto::Sm2PublicKey& key) {
  return PemEncode(kPemPublicKey, internal::Sm2Spki(key));
}

Result<crypto::Sm2PublicKey> ParseSm2PublicKeyPem(std::string_view text) {
  if (auto spki = PemDecode(text, kPemPublicKey); spki.ok()) {
    GMPKI_ASSIGN_OR_RETURN(auto el, der::ParseSingle(*spki));
    return internal::ParseSm2Spki(el);
  }
  auto cert = Certificate::FromPem(text);
  if (!cert.ok()) {
    return Error(ErrorCode::kMalformedInput,
                 "neither a PUBLIC KEY nor a CERTIFICATE PEM block with an SM2 key");
  }
  return cert->public_key();
}

}  // namespace gmpki::x509
