// Internal to the SM2 engine: 256-bit integers as four 64-bit limbs (little-endian limb order)
// and Montgomery arithmetic modulo a 256-bit odd modulus M with R = 2^256.
//
// Constant time: no branch and no memory index depends on the values; carries and the final
// conditional subtraction are resolved with masks. Portable C++ with unsigned __int128 (GCC and
// Clang on 64-bit targets), so the compiler emits mul/adc sequences without assembly.
#pragma once

#include <cstddef>
#include <cstdint>

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

// r = a + b, returns the carry (0 or 1).
inline u64 Add4(U256& r, const U256& a, const U256& b) {
  u128 c = 0;
  for (int i = 0; i < 4; ++i) {
    c += static_cast<u128>(a.v[i]) + b.v[i];
    r.v[i] = static_cast<u64>(c);
    c >>= 64;
  }
  return static_cast<u64>(c);
}

// r = a - b, returns the borrow (0 or 1).
inline u64 Sub4(U256& r, const U256& a, const U256& b) {
  u64 borrow = 0;
  for (int i = 0; i < 4; ++i) {
    u128 d = static_cast<u128>(a.v[i]) - b.v[i] - borrow;
    r.v[i] = static_cast<u64>(d);
    borrow = static_cast<u64>(d >> 64) & 1;
  }
  return borrow;
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
    for (int j = 0; j < 8; ++j) out[(3 - i) * 8 + j] = static_cast<std::uint8_t>(a.v[i] >> (56 - 8 * j));
  }
}

// A modulus with its Montgomery constants: n0 = -M^-1 mod 2^64, rr = R^2 mod M, one = R mod M.
struct MontModulus {
  U256 m;
  u64 n0;
  U256 rr;
  U256 one;
};

// r = a + b mod M for a, b < M.
template <const MontModulus& P>
inline void ModAdd(U256& r, const U256& a, const U256& b) {
  U256 s, t;
  u64 carry = Add4(s, a, b);
  u64 borrow = Sub4(t, s, P.m);
  // Keep s only when the sum had no carry and s < M (the subtraction borrowed).
  u64 keep = 0 - (borrow & (carry ^ 1));
  Select(r, keep, t, s);
}

// r = a - b mod M for a, b < M.
template <const MontModulus& P>
inline void ModSub(U256& r, const U256& a, const U256& b) {
  U256 d, t;
  u64 mask = 0 - Sub4(d, a, b);
  U256 madd;
  for (int i = 0; i < 4; ++i) madd.v[i] = P.m.v[i] & mask;
  Add4(t, d, madd);
  r = t;
}

// r = a * b * R^-1 mod M (CIOS) for a, b < M; r < M.
template <const MontModulus& P>
inline void MontMul(U256& r, const U256& a, const U256& b) {
  u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  for (int i = 0; i < 4; ++i) {
    const u64 bi = b.v[i];
    u128 c = static_cast<u128>(a.v[0]) * bi + t0;
    t0 = static_cast<u64>(c);
    c = (c >> 64) + static_cast<u128>(a.v[1]) * bi + t1;
    t1 = static_cast<u64>(c);
    c = (c >> 64) + static_cast<u128>(a.v[2]) * bi + t2;
    t2 = static_cast<u64>(c);
    c = (c >> 64) + static_cast<u128>(a.v[3]) * bi + t3;
    t3 = static_cast<u64>(c);
    c = (c >> 64) + t4;
    t4 = static_cast<u64>(c);
    const u64 t5 = static_cast<u64>(c >> 64);
    // For SM2's p the constant n0 is 1 and the multiply folds away.
    const u64 m = t0 * P.n0;
    c = static_cast<u128>(m) * P.m.v[0] + t0;
    c = (c >> 64) + static_cast<u128>(m) * P.m.v[1] + t1;
    t0 = static_cast<u64>(c);
    c = (c >> 64) + static_cast<u128>(m) * P.m.v[2] + t2;
    t1 = static_cast<u64>(c);
    c = (c >> 64) + static_cast<u128>(m) * P.m.v[3] + t3;
    t2 = static_cast<u64>(c);
    c = (c >> 64) + t4;
    t3 = static_cast<u64>(c);
    t4 = t5 + static_cast<u64>(c >> 64);
  }
  // t < 2M: subtract M once unless that borrows past the fifth limb.
  U256 t{{t0, t1, t2, t3}}, s;
  u64 borrow = Sub4(s, t, P.m);
  u64 keep_t = 0 - (borrow & (t4 ^ 1));
  Select(r, keep_t, s, t);
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
