// Internal to src/x509: the pieces key_envelope.cc (SKF / SM2EnvelopedKey, SM4-ECB) and
// key_envelope_cms.cc (EnvelopedData, SM4-CBC) share.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "x509/key_envelope.h"

namespace gmpki::x509::envelope_internal {

inline Error Bad(std::string what) {
  return Error(ErrorCode::kMalformedInput, "key envelope: " + what);
}

// The fields of a GM/T 0009 SM2Cipher, coordinates left-padded to 32 bytes.
struct Sm2CipherFields {
  std::array<std::uint8_t, 32> x{}, y{};
  ByteView hash;  // 32 bytes, a view into the parsed input
  ByteView c2;    // non-empty
};
// Strict DER (minimal lengths and INTEGERs, no trailing data); kMalformedInput otherwise.
Result<Sm2CipherFields> ParseSm2CipherDer(ByteView der);

// Runs `decrypt_cek` and checks that the result is a 16-byte SM4 key.
Result<SecretBytes> DecryptCek(const CekDecryptor& decrypt_cek, ByteView encrypted_cek);

// Makes the private key from the decrypted d (1..32 bytes, big-endian, left-padded) and checks
// it: d in [1, n-2] and d*G == `pub` (and == *expected when given). kMalformedInput otherwise.
Result<crypto::Sm2PrivateKey> CheckedPrivateKey(
    ByteView d, const crypto::Sm2PublicKey& pub,
    const std::optional<crypto::Sm2PublicKey>& expected);

}  // namespace gmpki::x509::envelope_internal
