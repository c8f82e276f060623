// Internal to src/crypto: the constant-time SM4 paths and the run-time choice between them.
// Three implementations of one small interface (Sm4Ops), best first:
//   kAvx512Gfni  AVX-512F/BW/VL + GFNI, GHASH by VPCLMULQDQ (sm4_fast.cc)
//   kAesniAvx2   AES-NI + AVX2, GHASH by PCLMULQDQ (sm4_aesni.cc, sm4_ghash_clmul.cc)
//   kPortable    bitsliced 64-bit integer code, GHASH by masked integer multiplication
//                (sm4_portable.cc, sm4_ghash_portable.cc)
// and the table-based OpenSSL path of sm4.cc / sm4_gcm.cc, kept as the reference that tests
// compare against. See README.md, "SM4 fast path", for the design.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::crypto::internal {

enum class Sm4Impl {
  kAuto,        // the best constant-time path of this CPU, or the one GMPKI_SM4_IMPL names
  kReference,   // OpenSSL EVP (table-based S-box) and the bitwise GHASH: for tests only
  kAvx512Gfni,  // AVX-512F/BW/VL, GFNI, PCLMULQDQ, VPCLMULQDQ
  kAesniAvx2,   // AES-NI, AVX2, PCLMULQDQ
  kPortable,    // any x86-64 (or other 64-bit) CPU
};

// Printable name: "reference", "avx512-gfni", "aesni-avx2", "portable" ("auto" for kAuto).
const char* Sm4ImplName(Sm4Impl impl);

// Whether this CPU can run `impl` (always true for kAuto, kReference and kPortable).
bool Sm4ImplSupported(Sm4Impl impl);

// The path SM4 runs on now (never kAuto): the test override if set and supported, else the
// environment variable GMPKI_SM4_IMPL ("avx512-gfni", "aesni-avx2" or "portable", honoured only
// when supported), else the best supported path. Only the test override can select kReference.
Sm4Impl Sm4ActiveImpl();

// Test hook: forces `impl` for this process (an unsupported one acts as kAuto); kAuto restores
// the default choice.
void SetSm4ImplForTesting(Sm4Impl impl);

// The 32 round keys of GB/T 32907-2016 section 7.3. Callers SecureZero them after use.
struct Sm4RoundKeys {
  std::uint32_t rk[32];
};

// GHASH key material (SP 800-38D 6.4). The (V)PCLMULQDQ paths keep byte-reflected powers of H
// for an aggregated reduction over 16 blocks (VPCLMULQDQ) and 8 blocks (PCLMULQDQ); the portable
// path keeps H as two big-endian 64-bit halves.
struct GhashKey {
  alignas(64) std::uint8_t h_wide[16][16];  // H^(16-i), in the order the 16-block step reads them
  alignas(16) std::uint8_t h_pow[8][16];    // H^(i+1)
  alignas(16) std::uint8_t h_kara[8][16];   // hi ^ lo halves of H^(i+1), for Karatsuba
  std::uint64_t h64[2];                     // H: bytes 0..7 and 8..15, big-endian
};

// One constant-time implementation of SM4 and GHASH. No function indexes memory with, or
// branches on, the key, the data or values derived from them; only lengths steer branches.
struct Sm4Ops {
  Sm4Impl impl;
  // Key expansion (GB/T 32907-2016 7.3).
  void (*expand_key)(const std::uint8_t key[16], Sm4RoundKeys* out);
  // Encrypts `n` whole blocks (ECB) from `in` to `out` (may alias). With the round keys in
  // reverse order this decrypts (7.2).
  void (*encrypt_blocks)(const Sm4RoundKeys& rk, const std::uint8_t* in, std::uint8_t* out,
                         std::size_t n);
  // out = in XOR keystream for `len` bytes; the counter block `ctr` is incremented per block
  // either in its last 32 bits only (GCM's inc32, SP 800-38D 6.2) or over all 128 bits
  // (big-endian, as OpenSSL's sm4-ctr). On return `ctr` holds the next unused counter block.
  void (*ctr32)(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
                std::uint8_t* out, std::size_t len);
  void (*ctr128)(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
                 std::uint8_t* out, std::size_t len);
  // The SM4 S-box applied to each of `n` bytes; exposed so a test can compare it with the table
  // of GB/T 32907-2016 6.2 for all 256 inputs.
  void (*sbox)(const std::uint8_t* in, std::uint8_t* out, std::size_t n);
  // GHASH: key setup from H, then Y_i = (Y_(i-1) XOR X_i) * H over the `nblocks` whole 16-byte
  // blocks X_i of `data`, starting from and returning in `y` (GCM's byte order).
  void (*ghash_init)(const std::uint8_t h[16], GhashKey* key);
  void (*ghash_update)(const GhashKey& key, std::uint8_t y[16], const std::uint8_t* data,
                       std::size_t nblocks);
};

// The operations of `impl`; nullptr for kReference, kAuto or a path this CPU cannot run.
const Sm4Ops* Sm4OpsFor(Sm4Impl impl);
// The operations of Sm4ActiveImpl(); nullptr when that is kReference.
const Sm4Ops* Sm4ActiveOps();

// The tables of each path (defined in its file). REQUIRES for the first two: the CPU supports
// the path (Sm4ImplSupported); their functions carry target attributes and would fault elsewhere.
extern const Sm4Ops kSm4Avx512GfniOps;
extern const Sm4Ops kSm4AesniAvx2Ops;
extern const Sm4Ops kSm4PortableOps;

// GHASH over PCLMULQDQ without VPCLMULQDQ (sm4_ghash_clmul.cc), used by the AES-NI path and for
// the tail of the AVX-512 path. REQUIRES: PCLMULQDQ and SSSE3.
void GhashClmulInit(const std::uint8_t h[16], GhashKey* key);
void GhashClmulUpdate(const GhashKey& key, std::uint8_t y[16], const std::uint8_t* data,
                      std::size_t nblocks);
// Portable constant-time GHASH (sm4_ghash_portable.cc).
void GhashPortableInit(const std::uint8_t h[16], GhashKey* key);
void GhashPortableUpdate(const GhashKey& key, std::uint8_t y[16], const std::uint8_t* data,
                         std::size_t nblocks);

// SM4-GCM seal/open over `ops` (sm4_gcm_fast.cc). REQUIRES: the key is 16 bytes, the IV is not
// empty and the lengths are within SP 800-38D's limits (sm4_gcm.cc checks all three). Same
// results and errors as the reference path of sm4_gcm.cc.
Result<Bytes> Sm4GcmSealWith(const Sm4Ops& ops, ByteView key, ByteView iv, ByteView aad,
                             ByteView plaintext);
Result<Bytes> Sm4GcmOpenWith(const Sm4Ops& ops, ByteView key, ByteView iv, ByteView aad,
                             ByteView ciphertext_and_tag);

}  // namespace gmpki::crypto::internal
