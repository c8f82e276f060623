// Internal to src/crypto: what every SM4 path shares: the algebraic form of the S-box, big-endian
// word access and the key schedule over a caller's constant-time S-box.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/sm4_fast.h"

namespace gmpki::crypto::internal::sm4 {

// GB/T 32907-2016 6.2 gives the S-box as a table. Algebraically (Liu et al., "Algebraic
// structure of the SM4 S-box") S(x) = A * inv(A * x + c) + c with c = 0xd3, A the circulant
// matrix whose first row is 0xd3 rotated right by one bit per row, and inv the inversion in
// GF(2^8) modulo x^8+x^7+x^6+x^5+x^4+x^2+1. The AES field is GF(2^8) modulo x^8+x^4+x^3+x+1, so
// the map phi: GF(2^8)_SM4 -> GF(2^8)_AES sending x to beta = 0x23 (a root of the SM4 polynomial
// in the AES field) is folded into the affine maps:
//   S(x) = (A phi^-1) * inv_AES((phi A) * x + phi(c)) + c.
// Below are phi*A with phi(c) = 0x3e (the "pre" map) and A*phi^-1 with c (the "post" map), in the
// layout of the GFNI instructions (byte 7-i of the quadword is the row giving output bit i). Each
// path evaluates inv_AES its own way (GFNI, AESENCLAST, a bitsliced x^254); the tests compare
// every path's S-box with the standard's table for all 256 inputs.
inline constexpr std::uint64_t kPreMatrix = 0x4c287db91a22505dULL;
inline constexpr std::uint8_t kPreConst = 0x3e;
inline constexpr std::uint64_t kPostMatrix = 0xf3ab34a974a6b589ULL;
inline constexpr std::uint8_t kPostConst = 0xd3;

// Row i (the input bits that make output bit i) of a matrix in the GFNI layout.
constexpr std::uint8_t MatrixRow(std::uint64_t m, int i) {
  return static_cast<std::uint8_t>(m >> (8 * (7 - i)));
}

// m * x + c over GF(2), as VGF2P8AFFINEQB computes it. For compile-time tables only (public x).
constexpr std::uint8_t Affine(std::uint64_t m, std::uint8_t c, std::uint8_t x) {
  std::uint8_t out = c;
  for (int i = 0; i < 8; ++i) {
    const unsigned v = MatrixRow(m, i) & x;
    out ^= static_cast<std::uint8_t>((__builtin_parity(v) & 1) << i);
  }
  return out;
}

inline std::uint32_t LoadBe32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline void StoreBe32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
inline std::uint32_t Rotl32(std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// Key expansion (GB/T 32907-2016 7.3) with `tau` the S-box applied to the four bytes of a word
// (constant time in the caller's implementation).
template <typename Tau>
inline void ExpandKeyWith(const std::uint8_t key[16], Sm4RoundKeys* out, Tau tau) {
  // FK, and CK_i whose byte j is (4i + j) * 7 mod 256.
  static constexpr std::uint32_t kFk[4] = {0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc};
  std::uint32_t k[4];
  for (int i = 0; i < 4; ++i) k[i] = LoadBe32(key + 4 * i) ^ kFk[i];
  for (int i = 0; i < 32; ++i) {
    std::uint32_t ck = 0;
    for (int j = 0; j < 4; ++j) ck = (ck << 8) | (((4 * i + j) * 7) & 0xff);
    const std::uint32_t b = tau(k[(i + 1) % 4] ^ k[(i + 2) % 4] ^ k[(i + 3) % 4] ^ ck);
    // L'(B) = B ^ (B <<< 13) ^ (B <<< 23).
    k[i % 4] ^= b ^ Rotl32(b, 13) ^ Rotl32(b, 23);
    out->rk[i] = k[i % 4];
  }
  SecureZero(k, sizeof(k));
}

}  // namespace gmpki::crypto::internal::sm4
