// Internal to the SM2 engine: 256-bit integers as four 64-bit limbs (little-endian limb order)
// and Montgomery arithmetic modulo a 256-bit odd modulus M with R = 2^256.
//
// Constant time: no branch and no memory index depends on the values; carries and the final
// conditional subtraction are resolved with masks. Portable C++ with unsigned __int128 (GCC and
// Clang on 64-bit targets), so the compiler emits mul/adc sequences without assembly.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace gmpki::crypto::sm2_engine {

using u64 = std::uint64_t;
using u128 = unsigned __int128;

struct U256 {
  u64 v[4];
};

// All-ones when x == 0, else zero.
inline u64 MaskIsZero64(u64 x) { return 0 - (((x | (0 - x)) >> 63) ^ 1); }

inline u64 MaskIsZero(const U256& a) { return MaskIsZero64(a.v[0] | a.v[1] | a.v[2] | a.v[3]); }

// r = mask ? b : a, for mask all-ones or zero.
inline void Select(U256& r, u64 mask, const U256& a, const U256& b) {
  for (int i = 0; i < 4; ++i) r.v[i] = (a.v[i] & ~mask) | (b.v[i] & mask);
}

// Add and subtract with carry. On x86-64 the intrinsics make GCC emit plain adc/sbb chains
// (unsigned __int128 carries compile to much longer code there); elsewhere the portable form.
inline u64 Adc(u64 a, u64 b, unsigned char& carry) {
#if defined(__x86_64__)
  unsigned long long out;
  carry = _addcarry_u64(carry, a, b, &out);
  return out;
#else
  u128 s = static_cast<u128>(a) + b + carry;
  carry = static_cast<unsigned char>(s >> 64);
  return static_cast<u64>(s);
#endif
}

inline u64 Sbb(u64 a, u64 b, unsigned char& borrow) {
#if defined(__x86_64__)
  unsigned long long out;
  borrow = _subborrow_u64(borrow, a, b, &out);
  return out;
#else
  u128 d = static_cast<u128>(a) - b - borrow;
  borrow = static_cast<unsigned char>((d >> 64) & 1);
  return static_cast<u64>(d);
#endif
}

// r = a + b, returns the carry (0 or 1).
inline u64 Add4(U256& r, const U256& a, const U256& b) {
  unsigned char c = 0;
  for (int i = 0; i < 4; ++i) r.v[i] = Adc(a.v[i], b.v[i], c);
  return c;
}

// r = a - b, returns the borrow (0 or 1).
inline u64 Sub4(U256& r, const U256& a, const U256& b) {
  unsigned char br = 0;
  for (int i = 0; i < 4; ++i) r.v[i] = Sbb(a.v[i], b.v[i], br);
  return br;
}

// All-ones when a < b.
inline u64 MaskLess(const U256& a, const U256& b) {
  U256 t;
  return 0 - Sub4(t, a, b);
}

// Big-endian 32 bytes to limbs and back.
inline U256 FromBe32(const std::uint8_t* in) {
  U256 r;
  for (int i = 0; i < 4; ++i) {
    u64 w = 0;
    for (int j = 0; j < 8; ++j) w = (w << 8) | in[(3 - i) * 8 + j];
    r.v[i] = w;
  }
  return r;
}

inline void ToBe32(const U256& a, std::uint8_t* out) {
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 8; ++j)
      out[(3 - i) * 8 + j] = static_cast<std::uint8_t>(a.v[i] >> (56 - 8 * j));
  }
}

// A modulus with its Montgomery constants: n0 = -M^-1 mod 2^64, rr = R^2 mod M, one = R mod M.
struct MontModulus {
  U256 m;
  u64 n0;
  U256 rr;
  U256 one;
};

// r = (t4:t) - M when that does not borrow, else t (low 256 bits); for t4:t < 2M.
inline void SubtractIfAtLeast(U256& r, const U256& t, u64 t4, const U256& m) {
  unsigned char br = 0;
  U256 s;
  for (int i = 0; i < 4; ++i) s.v[i] = Sbb(t.v[i], m.v[i], br);
  Sbb(t4, 0, br);
  Select(r, 0 - static_cast<u64>(br), s, t);
}

// r = a + b mod M for a, b < M.
template <const MontModulus& P>
inline void ModAdd(U256& r, const U256& a, const U256& b) {
  U256 s;
  u64 carry = Add4(s, a, b);
  SubtractIfAtLeast(r, s, carry, P.m);
}

// r = a - b mod M for a, b < M.
template <const MontModulus& P>
inline void ModSub(U256& r, const U256& a, const U256& b) {
  U256 d;
  const u64 mask = 0 - Sub4(d, a, b);
  unsigned char c = 0;
  for (int i = 0; i < 4; ++i) r.v[i] = Adc(d.v[i], P.m.v[i] & mask, c);
}

// out = a * b (5 limbs).
inline void MulRow(u64 out[5], const u64 a[4], u64 b) {
  const u128 p0 = static_cast<u128>(a[0]) * b, p1 = static_cast<u128>(a[1]) * b;
  const u128 p2 = static_cast<u128>(a[2]) * b, p3 = static_cast<u128>(a[3]) * b;
  unsigned char c = 0;
  out[0] = static_cast<u64>(p0);
  out[1] = Adc(static_cast<u64>(p1), static_cast<u64>(p0 >> 64), c);
  out[2] = Adc(static_cast<u64>(p2), static_cast<u64>(p1 >> 64), c);
  out[3] = Adc(static_cast<u64>(p3), static_cast<u64>(p2 >> 64), c);
  out[4] = static_cast<u64>(p3 >> 64) + c;
}

// One CIOS row: (t0..t4) += a * bi; returns the carry out (the sixth limb). `row` is scratch.
// Shared by the generic MontMul below and the p-specialised one in fp.h.
inline u64 MulAccRow(u64& t0, u64& t1, u64& t2, u64& t3, u64& t4, u64 row[5], const u64 a[4],
                     u64 bi) {
  MulRow(row, a, bi);
  unsigned char c = 0;
  t0 = Adc(t0, row[0], c);
  t1 = Adc(t1, row[1], c);
  t2 = Adc(t2, row[2], c);
  t3 = Adc(t3, row[3], c);
  t4 = Adc(t4, row[4], c);
  return c;
}

// r = a * b * R^-1 mod M (CIOS, operand scanning) for a, b < M; r < M.
template <const MontModulus& P>
inline void MontMul(U256& r, const U256& a, const U256& b) {
  u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  for (int i = 0; i < 4; ++i) {
    u64 row[5];
    const u64 t5 = MulAccRow(t0, t1, t2, t3, t4, row, a.v, b.v[i]);
    // m makes t + m*M divisible by 2^64; the low limb of the sum is zero and dropped.
    MulRow(row, P.m.v, t0 * P.n0);
    unsigned char c = 0;
    Adc(t0, row[0], c);
    t0 = Adc(t1, row[1], c);
    t1 = Adc(t2, row[2], c);
    t2 = Adc(t3, row[3], c);
    t3 = Adc(t4, row[4], c);
    t4 = t5 + c;
  }
  SubtractIfAtLeast(r, U256{{t0, t1, t2, t3}}, t4, P.m);
}

// Full reduction of any 256-bit value when 2^256 < 2M (true for SM2's p and n).
template <const MontModulus& P>
inline U256 ReduceOnce(const U256& a) {
  U256 s, r;
  u64 borrow = Sub4(s, a, P.m);
  Select(r, 0 - borrow, s, a);
  return r;
}

}  // namespace gmpki::crypto::sm2_engine
