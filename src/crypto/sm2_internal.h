// Internal to src/crypto and its tests: SM2 operations with a caller-chosen ephemeral k. They
// exist only to reproduce the worked examples of GB/T 32918.5 (Annex A signature, Annex C
// encryption) bit for bit. Production code must never choose k: a repeated or predictable k
// reveals the private key.
#pragma once

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"

namespace gmpki::crypto::internal {

// GB/T 32918.2-2016 6.1 steps A4..A7 with the given 32-byte k. kInvalidArgument if k is not in
// [1, n-1] or leads to r = 0, r + k = n or s = 0 (the standard's "return to A3").
Result<Bytes> Sm2SignDigestWithK(const Sm2PrivateKey& key, ByteView e32, ByteView k32);

// The OpenSSL (BIGNUM/EC_POINT) implementations, kept selectable for comparison: sm2.h
// dispatches to gmpki's own engine (sm2_engine/) unless GMPKI_SM2_IMPL=openssl is set in the
// environment when the process starts.
Result<Bytes> OsslSm2SignDigest(const Sm2PrivateKey& key, ByteView e32);
Status OsslSm2VerifyDigest(const Sm2PublicKey& pub, ByteView e32, ByteView der_signature);
Result<Sm2PublicKey> OsslSm2DerivePublicKey(const Sm2PrivateKey& key);
Result<Bytes> OsslSm2Encrypt(const Sm2PublicKey& pub, ByteView plaintext);
Result<SecretBytes> OsslSm2Decrypt(const Sm2PrivateKey& key, ByteView ciphertext);
// True when sm2.h runs on OpenSSL (GMPKI_SM2_IMPL=openssl), false for the engine.
bool Sm2UsesOpenssl();

// GB/T 32918.4-2016 6.1 steps A2..A8 with the given 32-byte k, encoded as GM/T 0009 SM2Cipher.
Result<Bytes> Sm2EncryptWithK(const Sm2PublicKey& pub, ByteView plaintext, ByteView k32);

}  // namespace gmpki::crypto::internal
