// SM2 public keys as relying parties exchange them: SubjectPublicKeyInfo PEM ("PUBLIC KEY",
// RFC 7468 §13) or taken from a certificate.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/sm2.h"

namespace gmpki::x509 {

// "-----BEGIN PUBLIC KEY-----" PEM of the key's SubjectPublicKeyInfo (id-ecPublicKey, SM2 curve).
std::string Sm2PublicKeyPem(const crypto::Sm2PublicKey& key);
// The SM2 key of a "PUBLIC KEY" PEM block, or else of the first "CERTIFICATE" block.
// kMalformedInput when the text holds neither, or the key is not a valid SM2 point.
Result<crypto::Sm2PublicKey> ParseSm2PublicKeyPem(std::string_view text);

}  // namespace gmpki::x509
