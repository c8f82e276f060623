// The parts of SM2 public-key encryption (GB/T 32918.4-2016 §6.1, §7.1) that do not depend on
// how the points are multiplied, shared by the engine (sm2_engine/encrypt.cc) and the OpenSSL
// implementation (sm2_encrypt.cc): the GM/T 0009 SM2Cipher encoding, and the KDF / XOR / C3
// steps around the shared point (x2, y2).
#pragma once

#include <array>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::crypto::internal {

// SM2Cipher ::= SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (32), ciphertext OCTET
// STRING } (GM/T 0009), C1 coordinates left-padded to 32 bytes. kMalformedInput on bad DER,
// trailing data, a coordinate over 32 bytes, a HASH that is not 32 bytes or an empty C2.
struct Sm2CipherParts {
  std::array<std::uint8_t, 32> x1{}, y1{};
  ByteView c3;  // views into the parsed input
  ByteView c2;
};
Result<Sm2CipherParts> ParseSm2Cipher(ByteView der);

// A5-A8: t = KDF(x2 || y2, |M|), C2 = M xor t, C3 = SM3(x2 || M || y2), then the DER of
// (C1, C3, C2). std::nullopt when t is all zero (A5: the caller draws a new k).
// REQUIRES: x2y2 is 64 bytes, c1x and c1y 32 bytes each, m non-empty.
std::optional<Bytes> FinishSm2Encrypt(ByteView c1x, ByteView c1y, ByteView x2y2, ByteView m);

// B4-B6: t = KDF(x2 || y2, |C2|) (all zero: kBadSignature), M' = C2 xor t, and SM3(x2 || M' ||
// y2) compared with C3 in constant time (mismatch: kBadSignature, M' wiped).
Result<SecretBytes> FinishSm2Decrypt(ByteView x2y2, ByteView c3, ByteView c2);

}  // namespace gmpki::crypto::internal
