// SM2 public-key encryption on gmpki's own engine (GB/T 32918.4-2016 sections 6.1 and 7.1),
// with the GM/T 0009 ASN.1 ciphertext SM2Cipher ::= SEQUENCE { XCoordinate INTEGER,
// YCoordinate INTEGER, HASH OCTET STRING (SIZE(32)), CipherText OCTET STRING } (C1 || C3 ||
// C2). KDF and hash are SM3 (crypto::Sm3Kdf, C3 = SM3(x2 || M || y2)). Output and error codes
// are those of the OpenSSL-backed crypto::Sm2Encrypt / Sm2Decrypt (crypto/sm2_encrypt.cc), so
// either side can decrypt the other's ciphertexts.
//
// Side channels: k*G (fixed-base comb), k*P_B and d_B*C1 (varbase.h) run without branches or
// memory indexes on k or d_B. What leaves as a verdict is public by design: the all-zero KDF
// check and the C3 comparison (itself constant time) only say whether decryption failed.
#pragma once

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2_engine/engine.h"

namespace gmpki::crypto::sm2_engine {

// 6.1 A1..A8 with k uniform in [1, n-1] from crypto::RandomFill (a fresh k when the KDF output
// is all zero). kInvalidArgument for an empty plaintext.
Result<Bytes> EncryptC1C3C2(const PublicKey& pub, ByteView plaintext);

// The same with a caller-chosen 32-byte k, to reproduce GB/T 32918.5 Annex C and for tests
// only: a repeated or predictable k reveals the plaintext. kInvalidArgument when k is not in
// [1, n-1], gives an all-zero KDF output, or the plaintext is empty.
Result<Bytes> EncryptC1C3C2WithK(const PublicKey& pub, ByteView plaintext, ByteView k32);

// 7.1 B1..B7. kMalformedInput when the ciphertext is not a DER SM2Cipher with coordinates of
// at most 32 bytes, a 32-byte HASH and a non-empty CipherText, or C1 is not a point of the
// curve; kBadSignature when the KDF output is all zero or C3 does not match (wrong key or
// tampered ciphertext). The plaintext is returned only after C3 matched.
Result<SecretBytes> Decrypt(const PrivateKey& key, ByteView ciphertext);

}  // namespace gmpki::crypto::sm2_engine
