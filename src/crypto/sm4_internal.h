// Internal to src/crypto: the SM4 block function (GB/T 32907-2016) in ECB over many blocks, which
// the GCM construction of sm4_gcm.cc is built on.
#pragma once

#include <openssl/evp.h>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/ossl_internal.h"

namespace gmpki::crypto::internal {

// An SM4 key schedule for encryption of whole blocks. The OpenSSL context is cleansed when freed.
class Sm4BlockEncryptor {
 public:
  static Result<Sm4BlockEncryptor> Create(ByteView key16);
  // Encrypts `n` 16-byte blocks from `in` to `out` (may alias).
  Status EncryptBlocks(const std::uint8_t* in, std::uint8_t* out, std::size_t n);

 private:
  CipherCtxPtr ctx_;
};

// Cached fetched ciphers: "SM4-ECB", "SM4-CBC", "SM4-CTR".
const EVP_CIPHER* Sm4Cipher(const char* name);

}  // namespace gmpki::crypto::internal
