// Internal to src/crypto: the constant-time SM4 fast path (AVX-512 + GFNI for the S-box,
// (V)PCLMULQDQ for GHASH) and the run-time choice between it and the reference path of sm4.cc /
// sm4_gcm.cc. See README.md, "SM4 fast path", for the design.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace gmpki::crypto::internal {

enum class Sm4Impl {
  kAuto,       // the fast path when the CPU has it, unless GMPKI_SM4_IMPL=reference
  kReference,  // always the reference path
  kFast,       // the fast path; only honoured when the CPU has it
};

// True when SM4 ECB/CTR/GCM run on the fast path: the CPU has AVX-512F/BW/VL, GFNI, PCLMULQDQ
// and VPCLMULQDQ, the environment variable GMPKI_SM4_IMPL is not "reference" and no test override
// says otherwise. (Under valgrind, whose CPU model lacks AVX-512, the reference path runs.)
bool Sm4UseFast();
// Whether this CPU can run the fast path at all.
bool Sm4FastSupported();
// Test hook: overrides GMPKI_SM4_IMPL for this process (kAuto restores the environment's choice).
void SetSm4ImplForTesting(Sm4Impl impl);

// The 32 round keys of GB/T 32907-2016 section 7.3. Callers SecureZero them after use.
struct Sm4RoundKeys {
  std::uint32_t rk[32];
};

// Everything below REQUIRES Sm4FastSupported().

// Key expansion (GB/T 32907-2016 7.3) with the S-box evaluated by GFNI.
void Sm4FastExpandKey(const std::uint8_t key[16], Sm4RoundKeys* out);
// Encrypts `n` whole blocks (ECB) from `in` to `out` (may alias).
void Sm4FastEncryptBlocks(const Sm4RoundKeys& rk, const std::uint8_t* in, std::uint8_t* out,
                          std::size_t n);
// out = in XOR keystream for `len` bytes; the counter block `ctr` is incremented per block either
// in its last 32 bits only (GCM's inc32, SP 800-38D 6.2) or over all 128 bits (big-endian, as
// OpenSSL's sm4-ctr). On return `ctr` holds the next unused counter block.
void Sm4FastCtr32(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
                  std::uint8_t* out, std::size_t len);
void Sm4FastCtr128(const Sm4RoundKeys& rk, std::uint8_t ctr[16], const std::uint8_t* in,
                   std::uint8_t* out, std::size_t len);
// The SM4 S-box applied to each of `n` bytes; exposed so a test can compare it with the table of
// GB/T 32907-2016 6.2 for all 256 inputs.
void Sm4FastSbox(const std::uint8_t* in, std::uint8_t* out, std::size_t n);

// GHASH (SP 800-38D 6.4) with H^1..H^16 precomputed for an aggregated reduction over 16 blocks
// (VPCLMULQDQ) and 8 blocks (PCLMULQDQ). The powers are kept byte-reflected, as the code uses them.
struct GhashFastKey {
  alignas(64) std::uint8_t h_wide[16][16];  // H^(16-i), in the order the 16-block step reads them
  alignas(16) std::uint8_t h_pow[8][16];    // H^(i+1)
  alignas(16) std::uint8_t h_kara[8][16];   // hi ^ lo halves of H^(i+1), for Karatsuba
};
void GhashFastInit(const std::uint8_t h[16], GhashFastKey* key);
// Y_i = (Y_(i-1) XOR X_i) * H over the `nblocks` whole 16-byte blocks X_i of `data`, starting
// from and returning in `y` (GCM's byte order).
void GhashFastUpdate(const GhashFastKey& key, std::uint8_t y[16], const std::uint8_t* data,
                     std::size_t nblocks);

// SM4-GCM seal/open on the fast path (sm4_gcm_fast.cc). REQUIRES: the key is 16 bytes, the IV is
// not empty and the lengths are within SP 800-38D's limits (sm4_gcm.cc checks all three). Same
// results and errors as the reference path of sm4_gcm.cc.
Result<Bytes> Sm4GcmSealFast(ByteView key, ByteView iv, ByteView aad, ByteView plaintext);
Result<Bytes> Sm4GcmOpenFast(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext_and_tag);

}  // namespace gmpki::crypto::internal
