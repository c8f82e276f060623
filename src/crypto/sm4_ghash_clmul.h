// Internal to src/crypto: the 128-bit GHASH building blocks over PCLMULQDQ, shared by the
// AES-NI path (sm4_ghash_clmul.cc) and the AVX-512 path (sm4_fast.cc). Every function carries
// GMPKI_GHASH_CLMUL_TARGET, a subset of both callers' targets, so the compiler may inline them.
//
// GHASH in the byte-reflected representation (Gueron and Kounavis, "Intel Carry-Less
// Multiplication Instruction and its Usage for Computing the GCM Mode", algorithms 2 and 5):
// Karatsuba products accumulate unreduced, then one shift by a bit and one reduction modulo
// x^128 + x^7 + x^2 + x + 1 per aggregate.
#pragma once

#include <immintrin.h>

#define GMPKI_GHASH_CLMUL_TARGET __attribute__((target("pclmul,ssse3,sse4.1")))

namespace gmpki::crypto::internal::ghash_clmul {

GMPKI_GHASH_CLMUL_TARGET inline __m128i Reflect(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

struct Wide {
  __m128i lo, hi, mid;
};

GMPKI_GHASH_CLMUL_TARGET inline Wide ZeroWide() {
  return Wide{_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
}

GMPKI_GHASH_CLMUL_TARGET inline void MulAcc(Wide& acc, __m128i a, __m128i h, __m128i h_kara) {
  acc.lo = _mm_xor_si128(acc.lo, _mm_clmulepi64_si128(a, h, 0x00));
  acc.hi = _mm_xor_si128(acc.hi, _mm_clmulepi64_si128(a, h, 0x11));
  const __m128i a_kara = _mm_xor_si128(a, _mm_shuffle_epi32(a, 0x4e));
  acc.mid = _mm_xor_si128(acc.mid, _mm_clmulepi64_si128(a_kara, h_kara, 0x00));
}

// Reduces the product lo + mid * x^64 + hi * x^128 (schoolbook halves).
GMPKI_GHASH_CLMUL_TARGET inline __m128i ReduceProduct(__m128i lo, __m128i mid, __m128i hi) {
  lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
  hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
  // The 256-bit product of reflected operands is one bit short: shift <hi:lo> left by one.
  __m128i c_lo = _mm_srli_epi32(lo, 31);
  __m128i c_hi = _mm_srli_epi32(hi, 31);
  lo = _mm_slli_epi32(lo, 1);
  hi = _mm_slli_epi32(hi, 1);
  const __m128i cross = _mm_srli_si128(c_lo, 12);
  c_hi = _mm_slli_si128(c_hi, 4);
  c_lo = _mm_slli_si128(c_lo, 4);
  lo = _mm_or_si128(lo, c_lo);
  hi = _mm_or_si128(_mm_or_si128(hi, c_hi), cross);
  // Reduction of the low half (algorithm 5, phases one and two).
  __m128i t = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)),
                            _mm_slli_epi32(lo, 25));
  const __m128i t_hi = _mm_srli_si128(t, 4);
  lo = _mm_xor_si128(lo, _mm_slli_si128(t, 12));
  __m128i u = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)),
                            _mm_srli_epi32(lo, 7));
  u = _mm_xor_si128(u, t_hi);
  return _mm_xor_si128(hi, _mm_xor_si128(lo, u));
}

// Karatsuba: the middle term is (a_lo ^ a_hi)(h_lo ^ h_hi) ^ lo ^ hi.
GMPKI_GHASH_CLMUL_TARGET inline __m128i Reduce(const Wide& acc) {
  return ReduceProduct(acc.lo, _mm_xor_si128(acc.mid, _mm_xor_si128(acc.lo, acc.hi)), acc.hi);
}

GMPKI_GHASH_CLMUL_TARGET inline __m128i KaraKey(__m128i h) {
  return _mm_xor_si128(h, _mm_shuffle_epi32(h, 0x4e));
}

GMPKI_GHASH_CLMUL_TARGET inline __m128i GfMul(__m128i a, __m128i h) {
  Wide acc = ZeroWide();
  MulAcc(acc, a, h, KaraKey(h));
  return Reduce(acc);
}

}  // namespace gmpki::crypto::internal::ghash_clmul
